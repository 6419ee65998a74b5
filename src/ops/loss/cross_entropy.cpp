// Front end of the fused softmax cross-entropy (see fused_losses.h): argument layout, the two stubs, and the
// backward node, with a differentiable composite of the same gradient for double backward.
#include "ops/loss/fused_losses.h"

#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional.h"
#include "kiln/tensor/ops.h"
#include "ops/loss/cross_entropy_kernels.h"
#include "ops/op_stream.h"

namespace kiln::ops {
KILN_DEFINE_DISPATCH(cross_entropy_forward_stub);
KILN_DEFINE_DISPATCH(cross_entropy_backward_stub);

namespace {
CrossEntropyReduction to_kernel(nn::Reduction r) {
  switch (r) {
    case nn::Reduction::None: return CrossEntropyReduction::None;
    case nn::Reduction::Sum: return CrossEntropyReduction::Sum;
    default: return CrossEntropyReduction::Mean;
  }
}

// The gradient as differentiable ops (create_graph): factor * ((1 - ls) w_t (p - onehot) + ls / C (w_sum p - w)),
// zero on ignored rows; the same formula as ce_row_grad.
Tensor composite_grad(const Tensor& g, const Tensor& x, const Tensor& t, const Tensor& w, const Tensor& total_weight,
                      const CrossEntropyCall& call) {
  Tensor kept = ne(t, call.ignore_index);
  Tensor safe = masked_fill(t, logical_not(kept), 0);
  Tensor keptf = kept.to(x.dtype()).unsqueeze(1);
  Tensor w_t = (w.defined() ? index_select(w, 0, safe) : ones({call.n}, x.options())).unsqueeze(1);
  Tensor onehot = eq(arange(call.c, TensorOptions(kInt64).device(x.device())).unsqueeze(0), safe.unsqueeze(1));
  Tensor p = softmax(x, 1);
  Tensor d = mul(w_t, sub(p, onehot.to(x.dtype())));
  const double ls = call.label_smoothing;
  if (ls > 0) {
    Tensor spread = w.defined() ? sub(mul(p, sum(w)), w.unsqueeze(0)) : sub(mul(p, static_cast<double>(call.c)), 1.0);
    d = add(mul(d, 1.0 - ls), mul(spread, ls / static_cast<double>(call.c)));
  }
  d = mul(d, keptf);
  switch (call.reduction) {
    case CrossEntropyReduction::None: return mul(d, g.reshape({call.n, 1}));
    case CrossEntropyReduction::Sum: return mul(d, g);
    default: {
      Tensor none_kept = eq(total_weight, 0.0);
      return mul(d, where(none_kept, zeros_like(g), div(g, where(none_kept, ones_like(total_weight), total_weight))));
    }
  }
}
}  // namespace

bool fused_cross_entropy_fits(const Tensor& input, const Tensor& weight) {
  return (input.dim() == 1 || input.dim() == 2) && (input.is_cpu() || input.is_cuda()) &&
         !(weight.defined() && weight.requires_grad());
}

Tensor fused_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           nn::Reduction reduction, double label_smoothing) {
  const bool single = input.dim() == 1;
  Tensor x = (single ? input.unsqueeze(0) : input).detach().contiguous();
  Tensor t = target.reshape({x.size(0)}).to(kInt64).contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : weight;
  CrossEntropyCall call;
  call.n = x.size(0);
  call.c = x.size(1);
  call.ignore_index = ignore_index;
  call.label_smoothing = label_smoothing;
  call.reduction = to_kernel(reduction);
  call.dtype = x.dtype();
  call.stream = op_stream(x.device());

  Tensor lse = make_tensor({call.n}, x.dtype(), x.device());
  Tensor rows = make_tensor({call.n}, x.dtype(), x.device());
  Tensor out, total_weight;
  if (call.reduction != CrossEntropyReduction::None) {
    out = make_tensor(Shape{}, x.dtype(), x.device());
    total_weight = make_tensor(Shape{}, x.dtype(), x.device());
  }
  cross_entropy_forward_stub(x.device().type(), call, x, t, w, lse, rows, out, total_weight);
  if (call.reduction == CrossEntropyReduction::None) out = rows.view(target.sizes());

  if (autograd::needs_grad({&input})) {
    const Shape in_shape = input.sizes();
    autograd::record("CrossEntropyLossBackward0", out, {input},
                     [sx = autograd::SavedTensor(input), t, w, lse, total_weight, call, in_shape](
                         const autograd::TensorList& g, const std::vector<bool>&) {
                       Tensor xs = sx.get();
                       Tensor x2 = xs.dim() == 1 ? xs.unsqueeze(0) : xs;
                       Tensor grad = g[0].reshape(call.reduction == CrossEntropyReduction::None ? Shape{call.n} : Shape{});
                       if (autograd::grad_mode_enabled())
                         return autograd::TensorList{composite_grad(grad, x2, t, w, total_weight, call).view(in_shape)};
                       Tensor gx = make_tensor({call.n, call.c}, x2.dtype(), x2.device());
                       Tensor xc = x2.detach().contiguous(), gc = grad.detach().contiguous();
                       CrossEntropyCall now = call;
                       now.stream = op_stream(xc.device());  // backward's current stream, as every backward op
                       cross_entropy_backward_stub(xc.device().type(), now, xc, t, w, lse, gc, total_weight, gx);
                       return autograd::TensorList{gx.view(in_shape)};
                     });
  }
  return out;
}
}  // namespace kiln::ops
