// CUDA instances of the tensor-Scalar arithmetic kernels (the Scalar travels inside the functor).
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/cuda_policy.cuh"

namespace kiln::ops {
KILN_REGISTER_KERNEL(binary_scalar_stub, kCUDA, binary_scalar_kernel<CudaLoop>);
}  // namespace kiln::ops
