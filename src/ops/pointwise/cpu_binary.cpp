// CPU instances of the binary, comparison, selection and ternary kernels (the math is in binary_dispatch.h).
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/cpu_policy.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(binary_stub, kCPU, binary_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(binary_scalar_stub, kCPU, binary_scalar_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(compare_stub, kCPU, compare_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(compare_scalar_stub, kCPU, compare_scalar_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(logical_stub, kCPU, logical_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(isclose_stub, kCPU, isclose_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(where_stub, kCPU, where_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(select_scalar_stub, kCPU, select_scalar_kernel<CpuLoop>);
KILN_REGISTER_KERNEL(ternary_stub, kCPU, ternary_kernel<CpuLoop>);
}  // namespace kiln::ops
