// CPU kernels of the copy family.
#include "ops/copy/copy_functors.h"
#include "ops/copy/copy_kernels.h"
#include "ops/elementwise/cpu_loop.h"

namespace kiln::ops {
namespace {
void copy_cpu(const ElementwiseIter& it) {
  KILN_DISPATCH_ALL(it.dtypes[0], "copy", [&] {
    using dst_t = scalar_t;
    KILN_DISPATCH_ALL(it.dtypes[1], "copy", [&] {
      if constexpr (std::is_same<dst_t, bool>::value)
        cpu_elementwise<bool, scalar_t>(it, [](opmath_t<scalar_t> v) { return v != opmath_t<scalar_t>(0); });
      else
        cpu_elementwise<dst_t, scalar_t>(it, CastFn{});
    });
  });
}
void fill_cpu(const ElementwiseIter& it, const Scalar& v) {
  KILN_DISPATCH_ALL(it.dtypes[0], "fill", [&] { cpu_elementwise<scalar_t>(it, FillFn<scalar_t>{v.to<scalar_t>()}); });
}
}  // namespace
KILN_REGISTER_KERNEL(copy_stub, kCPU, copy_cpu);
KILN_REGISTER_KERNEL(fill_stub, kCPU, fill_cpu);
}  // namespace kiln::ops
