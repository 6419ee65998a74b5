// CPU instances of the unary kernels (the math is in unary_dispatch.h).
#include "ops/pointwise/cpu_policy.h"
#include "ops/pointwise/unary_dispatch.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(unary_stub, kCPU, unary_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(unary_backward_stub, kCPU, unary_backward_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(float_class_stub, kCPU, float_class_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(clamp_stub, kCPU, clamp_kernel<CpuLoop>);
}  // namespace kiln::ops
