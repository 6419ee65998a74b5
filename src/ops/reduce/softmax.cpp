// Front ends of softmax and log_softmax: fused row kernels forward and backward, composite ops for double backward.
#include "kiln/autograd/autograd.h"
#include "ops/autocast/autocast_inputs.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/op_stream.h"
#include "ops/reduce/reduce_front.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;

namespace {
// The [outer, K, inner] split of a contiguous tensor around dim.
ops::SoftmaxCall split_at(const Tensor& t, int64_t dim) {
  ops::SoftmaxCall c;
  c.dtype = t.dtype();
  c.device = t.device();
  c.stream = ops::op_stream(c.device);
  for (int64_t d = 0; d < t.dim(); ++d) (d < dim ? c.outer : d == dim ? c.K : c.inner) *= t.size(d);
  return c;
}

Tensor softmax_backward(const Tensor& g, const Tensor& x, const Tensor& y, int64_t dim, bool log) {
  if (autograd::grad_mode_enabled()) {
    // create_graph: build the gradient from differentiable ops so it can be differentiated again. The
    // saved output has no graph (saving it with one would be a cycle), so recompute it from the input.
    Tensor yg = log ? log_softmax(x, dim) : softmax(x, dim);
    if (log) return sub(g, mul(exp(yg), sum(g, {dim}, true)));
    return mul(yg, sub(g, sum(mul(g, yg), {dim}, true)));
  }
  Tensor gc = g.detach().contiguous(), yc = y.detach().contiguous();
  Tensor gi = make_tensor(y.sizes(), y.dtype(), y.device());
  if (gi.numel() == 0) return gi;
  ops::SoftmaxCall c = split_at(yc, dim);
  c.in = gc.data_ptr();
  c.out = yc.data_ptr();
  c.result = gi.data_ptr();
  c.log = log;
  ops::softmax_backward_stub(yc.device().type(), c);
  return gi;
}

Tensor softmax_impl(const Tensor& a, int64_t dim, bool log) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a}}) return softmax_impl(c[0], dim, log);
  const char* name = log ? "log_softmax" : "softmax";
  ops::check_floating(a, name);
  int64_t w = wrap_dim(dim, a.dim(), name);  // a 0-dim tensor takes dim 0 or -1, as torch
  Tensor x = a.detach().contiguous();
  Tensor y = make_tensor(a.sizes(), a.dtype(), a.device());
  if (y.numel() > 0) {
    ops::SoftmaxCall c = split_at(x, w);
    c.in = x.data_ptr();
    c.result = y.data_ptr();
    c.log = log;
    ops::softmax_stub(a.device().type(), c);
  }
  if (autograd::needs_grad({&a})) {
    autograd::record(log ? "LogSoftmaxBackward0" : "SoftmaxBackward0", y, {a},
                     [sa = SavedTensor(a), sy = SavedTensor(y, true), gdim = w, log](const TensorList& g,
                                                                                      const std::vector<bool>&) {
                       return TensorList{softmax_backward(g[0], sa.get(), sy.get(), gdim, log)};
                     });
  }
  return y;
}
}  // namespace

Tensor softmax(const Tensor& a, int64_t dim) { return softmax_impl(a, dim, false); }
Tensor log_softmax(const Tensor& a, int64_t dim) { return softmax_impl(a, dim, true); }
}  // namespace kiln
