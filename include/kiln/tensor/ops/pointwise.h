// Elementwise ops with broadcasting and type promotion: arithmetic, comparisons, logic, unary math, where.
#pragma once
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
Tensor masked_fill(const Tensor& a, const Tensor& mask, const Scalar& value);
/// Casts to dtype (a copy unless already that dtype).
Tensor cast(const Tensor& a, DType dtype);

// In place, with PyTorch's rules: the result must fit self's shape and dtype (no promotion of self).
Tensor& add_(Tensor& self, const Tensor& b, const Scalar& alpha = 1);
Tensor& add_(Tensor& self, const Scalar& b);
Tensor& sub_(Tensor& self, const Tensor& b, const Scalar& alpha = 1);
Tensor& sub_(Tensor& self, const Scalar& b);
Tensor& mul_(Tensor& self, const Tensor& b);
Tensor& mul_(Tensor& self, const Scalar& b);
Tensor& div_(Tensor& self, const Tensor& b);
Tensor& div_(Tensor& self, const Scalar& b);
Tensor& fill_(Tensor& self, const Scalar& v);
Tensor& zero_(Tensor& self);
Tensor& clamp_(Tensor& self, const Scalar& lo, const Scalar& hi);
Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Scalar& value);
Tensor& relu_(Tensor& self);
/// self += alpha * a * b and self += alpha * a / b (optimizer building blocks).
Tensor& addcmul_(Tensor& self, const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor& addcdiv_(Tensor& self, const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
/// self = self + w * (end - self).
Tensor& lerp_(Tensor& self, const Tensor& end, const Scalar& w);

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
inline Tensor& operator+=(Tensor& a, const Tensor& b) { return add_(a, b); }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return sub_(a, b); }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return mul_(a, b); }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return div_(a, b); }
inline Tensor& operator+=(Tensor& a, const Scalar& b) { return add_(a, b); }
inline Tensor& operator-=(Tensor& a, const Scalar& b) { return sub_(a, b); }
inline Tensor& operator*=(Tensor& a, const Scalar& b) { return mul_(a, b); }
inline Tensor& operator/=(Tensor& a, const Scalar& b) { return div_(a, b); }
}  // namespace kiln
