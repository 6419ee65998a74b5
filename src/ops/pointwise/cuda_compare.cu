// CUDA instances of the comparison, logic and isclose kernels.
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/cuda_policy.cuh"

namespace kiln::ops {
KILN_REGISTER_KERNEL(compare_stub, kCUDA, compare_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(compare_scalar_stub, kCUDA, compare_scalar_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(logical_stub, kCUDA, logical_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(isclose_stub, kCUDA, isclose_kernel<CudaLoop>);
}  // namespace kiln::ops
