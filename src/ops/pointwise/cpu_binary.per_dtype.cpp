// CPU instances of the binary-family kernels for one dtype (compiled once per dtype table row).
#include "ops/per_dtype.h"
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/cpu_policy.h"

namespace kiln::ops {
KILN_INSTANTIATE_POINTWISE_BINARY(CpuLoop, instance_t)
}  // namespace kiln::ops
