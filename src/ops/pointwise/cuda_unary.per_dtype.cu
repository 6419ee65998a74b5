// CUDA instances of the unary-family kernels for one dtype (compiled once per dtype table row).
#include "ops/per_dtype.h"
#include "ops/pointwise/cuda_policy.cuh"
#include "ops/pointwise/unary_dispatch.h"

namespace kiln::ops {
KILN_INSTANTIATE_POINTWISE_UNARY(CudaLoop, instance_t)
}  // namespace kiln::ops
