// CUDA instances of the fused activation derivatives and the isnan/isinf/isfinite predicates.
#include "ops/pointwise/cuda_policy.cuh"
#include "ops/pointwise/unary_dispatch.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(unary_backward_stub, kCUDA, unary_backward_kernel<CudaLoop>);
KILN_REGISTER_KERNEL(float_class_stub, kCUDA, float_class_kernel<CudaLoop>);
}  // namespace kiln::ops
