// CUDA instances of the tensor-tensor arithmetic kernels (the math is in binary_dispatch.h).
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/cuda_policy.cuh"

namespace kiln::ops {
KILN_REGISTER_KERNEL(binary_stub, kCUDA, binary_kernel<CudaLoop>);
}  // namespace kiln::ops
