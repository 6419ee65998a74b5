// Front ends of cumsum and cumprod (torch's dtypes: integers and bool accumulate in int64), with gradients
// built from differentiable ops, so they can be differentiated again.
#include <algorithm>

#include "kiln/autograd/autograd.h"
#include "ops/autocast/autocast_inputs.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/op_stream.h"
#include "ops/pointwise/pointwise_common.h"
#include "ops/reduce/cumulative_kernels.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;

namespace ops {
KILN_DEFINE_DISPATCH(cumulative_stub);
}  // namespace ops

namespace {
// The forward without autograd: a contiguous copy in the accumulation dtype, scanned along dim.
Tensor cumulative_raw(ops::CumulativeOp op, const Tensor& a, int64_t dim) {
  DType dt = is_floating_point(a.dtype()) ? a.dtype() : kInt64;
  Tensor x = contiguous(ops::cast_for_kernel(a, dt));
  Tensor out = make_tensor(a.sizes(), dt, a.device());
  if (out.numel() == 0) return out;
  int64_t outer = 1, K = 1, inner = 1;
  for (int64_t d = 0; d < a.dim(); ++d) (d < dim ? outer : d == dim ? K : inner) *= a.size(d);
  ops::cumulative_stub(a.device().type(), out, x, outer, K, inner, op, ops::op_stream(a.device()));
  return out;
}

int64_t cumulative_dim(const char* name, const Tensor& a, int64_t dim) {
  KILN_CHECK(a.defined(), name, ": undefined tensor");
  return wrap_dim(dim, std::max<int64_t>(a.dim(), 1), name);  // a 0-dim tensor takes dim 0 or -1, as torch
}

// sum over j >= k of g_j: the gradient of cumsum, and a piece of cumprod's.
Tensor reverse_cumsum(const Tensor& g, int64_t dim) {
  if (g.dim() == 0) return g;
  return flip(cumsum(flip(g, {dim}), dim), {dim});
}
}  // namespace

Tensor cumsum(const Tensor& a, int64_t dim) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a}}) return cumsum(c[0], dim);
  dim = cumulative_dim("cumsum", a, dim);
  Tensor out = cumulative_raw(ops::CumulativeOp::Sum, a, dim);
  if (autograd::needs_grad({&a}))
    autograd::record("CumsumBackward0", out, {a}, [dim](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reverse_cumsum(g[0], dim)};
    });
  return out;
}

Tensor cumprod(const Tensor& a, int64_t dim) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a}}) return cumprod(c[0], dim);
  dim = cumulative_dim("cumprod", a, dim);
  Tensor out = cumulative_raw(ops::CumulativeOp::Prod, a, dim);
  if (autograd::needs_grad({&a})) {
    ops::SavedOutput so(out);
    autograd::record("CumprodBackward0", out, {a},
                     [dim, sa = SavedTensor(a), so](const TensorList& g, const std::vector<bool>&) {
                       // dy_j/dx_k = y_j / x_k for j >= k when no x is zero. With zeros, split each line at its
                       // first zero z: before z that formula holds; at z the product without x_z is the cumprod
                       // of x with x_z replaced by 1; after z every product contains x_z, so the gradient is 0.
                       // Under create_graph the output is recomputed: the saved one has no graph.
                       Tensor x = sa.get(), y = autograd::grad_mode_enabled() ? cumprod(x, dim) : so.get();
                       if (x.dim() == 0) return TensorList{g[0]};
                       Tensor zero = eq(x, 0);
                       Tensor zeros_so_far = cumsum(zero, dim);
                       Tensor before = eq(zeros_so_far, 0);
                       Tensor first = logical_and(zero, eq(zeros_so_far, 1));
                       Tensor at_before = div(reverse_cumsum(mul(g[0], y), dim), where(before, x, 1));
                       Tensor at_first = reverse_cumsum(mul(g[0], cumprod(where(first, 1, x), dim)), dim);
                       return TensorList{where(before, at_before, where(first, at_first, 0))};
                     });
    so.set_node(out.grad_fn());
  }
  return out;
}
}  // namespace kiln
