// CPU kernel of the random family.
#include "backend/cpu/parallel.h"
#include "ops/random/random_kernels.h"

namespace kiln::ops {
namespace {
void random_cpu(const Tensor& out, const RandomParams& p) {
  KILN_DISPATCH_NUMERIC(out.dtype(), "random", [&] {
    scalar_t* o = out.data_ptr<scalar_t>();
    cpu::parallel_for(0, out.numel(), 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        o[i] = static_cast<scalar_t>(random_value(p.kind, p.a, p.b, p.seed, p.offset, i));
    });
  });
}
}  // namespace
KILN_REGISTER_KERNEL(random_stub, kCPU, random_cpu);
}  // namespace kiln::ops
