// CUDA instances of where, masked_fill/where-with-Scalar, clamp and the ternary optimizer kernels.
#include "ops/pointwise/cuda_policy.cuh"
#include "ops/pointwise/unary_dispatch.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(where_stub, kCUDA, where_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(select_scalar_stub, kCUDA, select_scalar_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(ternary_stub, kCUDA, ternary_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(clamp_stub, kCUDA, clamp_kernel<CudaLoop>);
}  // namespace kiln::ops
