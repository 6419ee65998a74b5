// CUDA kernels of the copy family.
#include "ops/copy/copy_functors.h"
#include "ops/copy/copy_kernels.h"
#include "ops/elementwise/cuda_loop.cuh"

namespace kiln::ops {
namespace {
struct ToBoolFn {
  template <typename T>
  KILN_HD bool operator()(T v) const { return v != T(0); }
};
void copy_cuda(const ElementwiseIter& it) {
  KILN_DISPATCH_ALL(it.dtypes[0], "copy", [&] {
    using dst_t = scalar_t;
    KILN_DISPATCH_ALL(it.dtypes[1], "copy", [&] {
      if constexpr (std::is_same<dst_t, bool>::value) cuda_elementwise<bool, scalar_t>(it, ToBoolFn{});
      else cuda_elementwise<dst_t, scalar_t>(it, CastFn{});
    });
  });
}
void fill_cuda(const ElementwiseIter& it, const Scalar& v) {
  KILN_DISPATCH_ALL(it.dtypes[0], "fill", [&] { cuda_elementwise<scalar_t>(it, FillFn<scalar_t>{v.to<scalar_t>()}); });
}
}  // namespace
KILN_REGISTER_KERNEL(copy_stub, kCUDA, copy_cuda);
KILN_REGISTER_KERNEL(fill_stub, kCUDA, fill_cuda);
}  // namespace kiln::ops
