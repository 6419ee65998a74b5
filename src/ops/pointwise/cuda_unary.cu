// CUDA instances of the unary math kernels (floating math for the four floating dtypes only).
#include "ops/pointwise/cuda_policy.cuh"
#include "ops/pointwise/unary_dispatch.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(unary_stub, kCUDA, unary_kernel<CudaLoop>);
}  // namespace kiln::ops
