// CUDA instances of the binary-family kernels for one dtype (compiled once per dtype table row).
#include "ops/per_dtype.h"
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/cuda_policy.cuh"

namespace kiln::ops {
KILN_INSTANTIATE_POINTWISE_BINARY(CudaLoop, instance_t)
}  // namespace kiln::ops
