// Unary math front end: neg, abs, sign, exp, log, sqrt, trig, rounding, reciprocal, square, with gradients.
// Integer inputs to floating functions compute in float32, like torch.
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::UnaryOp;

namespace {
// Math that needs a floating result: integers and bool are converted to float32 first.
Tensor float_unary(UnaryOp op, const Tensor& a) {
  return ops::unary_raw(op, ops::cast_for_kernel(a, ops::floating_compute(a.dtype())));
}

// Records a one-input node whose gradient is fn(g, x, y) (x the input, y the output).
template <typename F>
Tensor with_grad(const char* node, const Tensor& a, const Tensor& out, bool save_input, bool save_output, F fn) {
  if (!autograd::needs_grad({&a})) return out;
  ops::SavedOutput so = save_output ? ops::SavedOutput(out) : ops::SavedOutput();
  autograd::record(
      node, out, {a},
      [sa = save_input ? SavedTensor(a) : SavedTensor(), so, fn](const TensorList& g, const std::vector<bool>&) {
        return TensorList{fn(g[0], sa.defined() ? sa.get() : Tensor(), so.defined() ? so.get() : Tensor())};
      });
  so.set_node(out.grad_fn());
  return out;
}

// Rounding-like ops have a zero gradient almost everywhere.
Tensor zero_grad(const Tensor& g, const Tensor&, const Tensor&) { return zeros_like(g); }
}  // namespace

Tensor neg(const Tensor& a) {
  ops::check_not_bool("neg", a.dtype(), "To invert a mask, use logical_not() instead.");
  Tensor out = ops::unary_raw(UnaryOp::Neg, a);
  return with_grad("NegBackward0", a, out, false, false,
                   [](const Tensor& g, const Tensor&, const Tensor&) { return neg(g); });
}

Tensor abs(const Tensor& a) {
  if (a.dtype() == kBool) return clone(a);
  Tensor out = ops::unary_raw(UnaryOp::Abs, a);
  return with_grad("AbsBackward0", a, out, true, false,
                   [](const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, sign(x)); });
}

Tensor sign(const Tensor& a) {
  if (a.dtype() == kBool) return clone(a);
  return with_grad("SignBackward0", a, ops::unary_raw(UnaryOp::Sign, a), false, false, zero_grad);
}

Tensor exp(const Tensor& a) {
  return with_grad("ExpBackward0", a, float_unary(UnaryOp::Exp, a), false, true,
                   [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, y); });
}

Tensor log(const Tensor& a) {
  return with_grad("LogBackward0", a, float_unary(UnaryOp::Log, a), true, false,
                   [](const Tensor& g, const Tensor& x, const Tensor&) { return div(g, x); });
}

Tensor log1p(const Tensor& a) {
  return with_grad("Log1PBackward0", a, float_unary(UnaryOp::Log1p, a), true, false,
                   [](const Tensor& g, const Tensor& x, const Tensor&) { return div(g, add(x, 1)); });
}

Tensor sqrt(const Tensor& a) {
  return with_grad("SqrtBackward0", a, float_unary(UnaryOp::Sqrt, a), false, true,
                   [](const Tensor& g, const Tensor&, const Tensor& y) { return div(g, mul(y, 2)); });
}

Tensor rsqrt(const Tensor& a) {
  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  return with_grad("RsqrtBackward0", a, float_unary(UnaryOp::Rsqrt, a), false, true,
                   [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, mul(pow(y, 3), -0.5)); });
}

Tensor sin(const Tensor& a) {
  return with_grad("SinBackward0", a, float_unary(UnaryOp::Sin, a), true, false,
                   [](const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, cos(x)); });
}

Tensor cos(const Tensor& a) {
  return with_grad("CosBackward0", a, float_unary(UnaryOp::Cos, a), true, false,
                   [](const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, neg(sin(x))); });
}

Tensor tanh(const Tensor& a) {
  return with_grad("TanhBackward0", a, float_unary(UnaryOp::Tanh, a), false, true,
                   [](const Tensor& g, const Tensor&, const Tensor& y) {
                     // One fused kernel unless a differentiable graph is wanted (create_graph).
                     if (!autograd::grad_mode_enabled())
                       return ops::unary_backward_raw(ops::UnaryBackwardOp::TanhOut, g, y);
                     return mul(g, rsub(square(y), 1));
                   });
}

Tensor sigmoid(const Tensor& a) {
  return with_grad("SigmoidBackward0", a, float_unary(UnaryOp::Sigmoid, a), false, true,
                   [](const Tensor& g, const Tensor&, const Tensor& y) {
                     if (!autograd::grad_mode_enabled())
                       return ops::unary_backward_raw(ops::UnaryBackwardOp::SigmoidOut, g, y);
                     return mul(mul(g, y), rsub(y, 1));
                   });
}

Tensor reciprocal(const Tensor& a) {
  return with_grad("ReciprocalBackward0", a, float_unary(UnaryOp::Reciprocal, a), false, true,
                   [](const Tensor& g, const Tensor&, const Tensor& y) { return neg(mul(g, square(y))); });
}

Tensor square(const Tensor& a) {
  // torch.square is pow(a, 2): bool squares as int64.
  Tensor x = ops::cast_for_kernel(a, a.dtype() == kBool ? kInt64 : a.dtype());
  return with_grad("PowBackward0", a, ops::unary_raw(UnaryOp::Square, x), true, false,
                   [](const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, mul(x, 2)); });
}

Tensor floor(const Tensor& a) {
  if (!a.is_floating_point()) return clone(a);  // integers are already whole
  return with_grad("FloorBackward0", a, ops::unary_raw(UnaryOp::Floor, a), false, false, zero_grad);
}

Tensor ceil(const Tensor& a) {
  if (!a.is_floating_point()) return clone(a);
  return with_grad("CeilBackward0", a, ops::unary_raw(UnaryOp::Ceil, a), false, false, zero_grad);
}

Tensor round(const Tensor& a) {
  if (!a.is_floating_point()) return clone(a);
  return with_grad("RoundBackward0", a, ops::unary_raw(UnaryOp::Round, a), false, false, zero_grad);
}
}  // namespace kiln
