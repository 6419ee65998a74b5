// Unary math front ends with their own rules (bool and integer inputs): neg, abs, sign, square and rounding,
// with gradients. The floating math ops (exp, log, sqrt, trig, ...) are the op table's (table_unary.cpp).
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::UnaryOp;

namespace {
using ops::with_grad;

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
