// Registers the CUDA reduction kernel (its per-dtype instances are in cuda_reduce.per_dtype.cu).
#include "ops/reduce/reduce_kernels.h"

namespace kiln::ops {
KILN_REGISTER_KERNEL(reduce_stub, kCUDA, [](const ReduceCall& c) {
  KILN_DISPATCH_ALL(c.in_dtype, "reduce", [&] { reduce_cuda_typed<scalar_t>(c); });
});
}  // namespace kiln::ops
