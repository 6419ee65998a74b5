// Elementwise ops with broadcasting and type promotion: arithmetic, comparisons, logic, unary math, where.
#pragma once
#include <optional>
#include <string_view>

#include "kiln/tensor/ops/op_table.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

/// The dtype an op on a and b computes in (torch.result_type): tensors promote; a 0-dim tensor or a
/// Scalar only raises the category (bool < integer < floating), as in PyTorch.
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, const Scalar& b);

// Arithmetic. Integer division (div) is true division and returns float, like torch.div.
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor add(const Tensor& a, const Scalar& b);
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor sub(const Tensor& a, const Scalar& b);
Tensor rsub(const Tensor& a, const Scalar& b);  // b - a
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Scalar& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Scalar& b);
Tensor pow(const Tensor& a, const Tensor& e);
Tensor pow(const Tensor& a, const Scalar& e);
Tensor pow(const Scalar& a, const Tensor& e);
/// Python-style remainder: the result has the sign of the divisor.
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Scalar& b);
/// C-style remainder (std::fmod): the result has the sign of the dividend.
Tensor fmod(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, const Scalar& b);
/// torch.div with rounding_mode: "trunc" rounds toward zero, "floor" toward -inf; both keep the promoted dtype
/// (integer / integer stays integer; an integer zero divisor throws). nullopt is true division.
Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode);
Tensor div(const Tensor& a, const Scalar& b, std::optional<std::string_view> rounding_mode);
/// div(a, b, "floor").
Tensor floor_divide(const Tensor& a, const Tensor& b);
Tensor floor_divide(const Tensor& a, const Scalar& b);

/// Elementwise maximum and minimum, libtorch's torch::max(a, b) / torch::min(a, b).
Tensor max(const Tensor& a, const Tensor& b);
Tensor min(const Tensor& a, const Tensor& b);
/// The generic binary ops of the op table (maximum, minimum, ...): out = name(a, b), broadcast and promoted.
#define KILN_DECLARE_TABLE_BINARY(name, E, dtypes, autocast, front) KILN_IF_GENERIC_##front(Tensor name(const Tensor& a, const Tensor& b);)
KILN_FORALL_BINARY_OPS(KILN_DECLARE_TABLE_BINARY)
#undef KILN_DECLARE_TABLE_BINARY
/// The unary ops of the op table (exp, log, sqrt, sin, tanh, sigmoid, ...): integers compute in float32.
#define KILN_DECLARE_TABLE_UNARY(name, ...) Tensor name(const Tensor& a);
KILN_FORALL_UNARY_OPS(KILN_DECLARE_TABLE_UNARY)
#undef KILN_DECLARE_TABLE_UNARY

// Comparisons and logic return bool tensors.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Scalar& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Scalar& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Scalar& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Scalar& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Scalar& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Scalar& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
Tensor isnan(const Tensor& a);
Tensor isinf(const Tensor& a);
Tensor isfinite(const Tensor& a);
/// True where |a-b| <= atol + rtol*|b| (NaNs equal when equal_nan).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
bool equal(const Tensor& a, const Tensor& b);

// Unary math. Integer inputs to floating functions compute in float32, like torch.
Tensor neg(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor sign(const Tensor& a);
Tensor relu(const Tensor& a);
Tensor leaky_relu(const Tensor& a, double negative_slope = 0.01);
/// approximate: "none" (erf) or "tanh".
Tensor gelu(const Tensor& a, const std::string& approximate = "none");
Tensor silu(const Tensor& a);
Tensor softplus(const Tensor& a, double beta = 1.0, double threshold = 20.0);
Tensor floor(const Tensor& a);
Tensor ceil(const Tensor& a);
/// Rounds half to even, like torch.round.
Tensor round(const Tensor& a);
Tensor square(const Tensor& a);
Tensor clamp(const Tensor& a, const Scalar& lo, const Scalar& hi);
Tensor clamp_min(const Tensor& a, const Scalar& lo);
Tensor clamp_max(const Tensor& a, const Scalar& hi);
/// cond ? a : b with broadcasting; cond must be bool.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b);
Tensor where(const Tensor& cond, const Scalar& a, const Scalar& b);
Tensor masked_fill(const Tensor& a, const Tensor& mask, const Scalar& value);
/// Casts to dtype (a copy unless already that dtype).
Tensor cast(const Tensor& a, DType dtype);

// In place, with PyTorch's rules: the result must fit self's shape and dtype (no promotion of self). self is a
// handle: the write goes to its shared data, so a temporary or const handle works (zero_(x.grad())).
const Tensor& add_(const Tensor& self, const Tensor& b, const Scalar& alpha = 1);
const Tensor& add_(const Tensor& self, const Scalar& b);
const Tensor& sub_(const Tensor& self, const Tensor& b, const Scalar& alpha = 1);
const Tensor& sub_(const Tensor& self, const Scalar& b);
const Tensor& mul_(const Tensor& self, const Tensor& b);
const Tensor& mul_(const Tensor& self, const Scalar& b);
const Tensor& div_(const Tensor& self, const Tensor& b);
const Tensor& div_(const Tensor& self, const Scalar& b);
const Tensor& div_(const Tensor& self, const Tensor& b, std::optional<std::string_view> rounding_mode);
const Tensor& div_(const Tensor& self, const Scalar& b, std::optional<std::string_view> rounding_mode);
const Tensor& pow_(const Tensor& self, const Scalar& e);
const Tensor& pow_(const Tensor& self, const Tensor& e);
const Tensor& fill_(const Tensor& self, const Scalar& v);
const Tensor& zero_(const Tensor& self);
const Tensor& clamp_(const Tensor& self, const Scalar& lo, const Scalar& hi);
const Tensor& clamp_min_(const Tensor& self, const Scalar& lo);
const Tensor& clamp_max_(const Tensor& self, const Scalar& hi);
const Tensor& masked_fill_(const Tensor& self, const Tensor& mask, const Scalar& value);
const Tensor& relu_(const Tensor& self);
const Tensor& neg_(const Tensor& self);
const Tensor& abs_(const Tensor& self);
/// In-place forms of the unary op table (exp_, log_, sqrt_, sin_, tanh_, sigmoid_, ...): self must be floating.
#define KILN_DECLARE_TABLE_UNARY_INPLACE(name, ...) const Tensor& name##_(const Tensor& self);
KILN_FORALL_UNARY_OPS(KILN_DECLARE_TABLE_UNARY_INPLACE)
#undef KILN_DECLARE_TABLE_UNARY_INPLACE
/// self += alpha * a * b and self += alpha * a / b (optimizer building blocks).
const Tensor& addcmul_(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
const Tensor& addcdiv_(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
/// self = self + w * (end - self).
const Tensor& lerp_(const Tensor& self, const Tensor& end, const Scalar& w);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, b); }
inline Tensor operator+(const Scalar& a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(const Scalar& a, const Tensor& b) { return rsub(b, a); }
inline Tensor operator*(const Scalar& a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(const Scalar& a, const Tensor& b) { return mul(reciprocal(b), a); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator==(const Tensor& a, const Scalar& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Scalar& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Scalar& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Scalar& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Scalar& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Scalar& b) { return ge(a, b); }
inline Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
inline Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
inline Tensor operator!(const Tensor& a) { return logical_not(a); }
inline Tensor& operator+=(Tensor& a, const Tensor& b) {
  add_(a, b);
  return a;
}
inline Tensor& operator-=(Tensor& a, const Tensor& b) {
  sub_(a, b);
  return a;
}
inline Tensor& operator*=(Tensor& a, const Tensor& b) {
  mul_(a, b);
  return a;
}
inline Tensor& operator/=(Tensor& a, const Tensor& b) {
  div_(a, b);
  return a;
}
inline Tensor& operator+=(Tensor& a, const Scalar& b) {
  add_(a, b);
  return a;
}
inline Tensor& operator-=(Tensor& a, const Scalar& b) {
  sub_(a, b);
  return a;
}
inline Tensor& operator*=(Tensor& a, const Scalar& b) {
  mul_(a, b);
  return a;
}
inline Tensor& operator/=(Tensor& a, const Scalar& b) {
  div_(a, b);
  return a;
}
}  // namespace kiln
