// Registers the CPU reduction kernel (its per-dtype instances are in cpu_reduce.per_dtype.cpp).
#include "ops/reduce/reduce_kernels.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(reduce_stub, kCPU, [](const ReduceCall& c) {
  KILN_DISPATCH_ALL(c.in_dtype, "reduce", [&] { reduce_cpu_typed<scalar_t>(c); });
});
}  // namespace kiln::ops
