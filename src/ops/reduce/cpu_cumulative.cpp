// CPU cumsum/cumprod: one task per line (outer x inner), each scanned in order by the shared scan_line.
#include <algorithm>

#include "backend/cpu/parallel.h"
#include "ops/reduce/cumulative_kernels.h"

namespace kiln::ops {
namespace {
void cumulative_cpu(const Tensor& out, const Tensor& in, int64_t outer, int64_t K, int64_t inner, CumulativeOp op,
                    cuda::Stream) {
  KILN_DISPATCH_NUMERIC(in.dtype(), op == CumulativeOp::Sum ? "cumsum" : "cumprod", [&] {
    const scalar_t* x = static_cast<const scalar_t*>(in.data_ptr());
    scalar_t* y = static_cast<scalar_t*>(out.data_ptr());
    int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(K, 1));
    cpu::parallel_for(0, outer * inner, grain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        int64_t base = (t / inner) * K * inner + t % inner;
        scan_line(x + base, y + base, K, inner, op);
      }
    });
  });
}
}  // namespace
KILN_REGISTER_KERNEL(cumulative_stub, kCPU, cumulative_cpu);
}  // namespace kiln::ops
