// Registers the CPU kernels of the pointwise family (their per-dtype instances are in cpu_*.per_dtype.cpp).
#include "ops/pointwise/cpu_policy.h"
#include "ops/pointwise/pointwise_kernels.h"

namespace kiln::ops {
KILN_REGISTER_POINTWISE_KERNELS(CpuLoop, kCPU);
}  // namespace kiln::ops
