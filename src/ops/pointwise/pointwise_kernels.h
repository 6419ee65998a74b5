// Dispatch stubs of the pointwise family: the op codes the front end passes and the kernels' signatures.
#pragma once
#include <cstdint>

#include "kiln/core/scalar.h"
#include "ops/dispatch.h"
#include "ops/elementwise/iter.h"

namespace kiln::ops {

// Every kernel below sees inputs of one compute dtype (the front end casts first); the output dtype is
// either that dtype or bool (comparisons, predicates), as each comment says.

enum class BinaryOp : int8_t { Add, Mul, Div, Pow, Remainder, Maximum, Minimum };
/// out = op(a, b), all one dtype; Add is a + alpha*b (sub passes -alpha). Div expects a floating dtype.
/// Remainder with an integer dtype throws ValueError("ZeroDivisionError") on a zero divisor (CPU).
KILN_DECLARE_DISPATCH(binary_stub, void (*)(const ElementwiseIter&, BinaryOp, const Scalar& alpha));
/// out = op(a, s), or op(s, a) when scalar_first; Add is s + alpha*a (so rsub is alpha = -1).
KILN_DECLARE_DISPATCH(binary_scalar_stub, void (*)(const ElementwiseIter&, BinaryOp, const Scalar& s,
                                                   const Scalar& alpha, bool scalar_first));

enum class CompareOp : int8_t { Eq, Ne, Lt, Le, Gt, Ge };
/// bool out = a op b (Gt/Ge are passed as Lt/Le with the operands swapped by the front end).
KILN_DECLARE_DISPATCH(compare_stub, void (*)(const ElementwiseIter&, CompareOp));
/// bool out = a op s.
KILN_DECLARE_DISPATCH(compare_scalar_stub, void (*)(const ElementwiseIter&, CompareOp, const Scalar& s));

enum class LogicalOp : int8_t { And, Or, Xor, Not };
/// bool out = op(a, b) on bool inputs (Not takes one input).
KILN_DECLARE_DISPATCH(logical_stub, void (*)(const ElementwiseIter&, LogicalOp));

enum class UnaryOp : int8_t {
  // Numeric dtypes, result in the input's dtype.
  Neg,
  Abs,
  Sign,
  Square,
  Relu,
  // Floating dtypes only.
  Exp,
  Log,
  Log1p,
  Sqrt,
  Rsqrt,
  Sin,
  Cos,
  Tanh,
  Sigmoid,
  Reciprocal,
  Floor,
  Ceil,
  Round,
  LeakyRelu,  // p0 = negative slope
  GeluErf,
  GeluTanh,
  Silu,
  Softplus,  // p0 = beta, p1 = threshold
  NormCdf,   // standard normal CDF, used by gelu's gradient
};
/// True for the ops that accept integer dtypes.
inline bool unary_accepts_integers(UnaryOp op) { return op <= UnaryOp::Relu; }
/// out = op(a), same dtype.
KILN_DECLARE_DISPATCH(unary_stub, void (*)(const ElementwiseIter&, UnaryOp, double p0, double p1));

enum class UnaryBackwardOp : int8_t {
  SigmoidOut,  // g * y * (1 - y), second operand is the output y
  TanhOut,     // g * (1 - y^2)
  ReluOut,     // y > 0 ? g : 0
  LeakyRelu,   // x > 0 ? g : g * p0
  GeluErf,
  GeluTanh,
  Silu,
  Softplus,  // p0 = beta, p1 = threshold
};
/// Fused first derivatives: out = f(g, x_or_y), floating dtypes.
KILN_DECLARE_DISPATCH(unary_backward_stub, void (*)(const ElementwiseIter&, UnaryBackwardOp, double p0, double p1));

enum class FloatClass : int8_t { IsNan, IsInf, IsFinite };
/// bool out = predicate(a), floating a.
KILN_DECLARE_DISPATCH(float_class_stub, void (*)(const ElementwiseIter&, FloatClass));

/// out = clamp(a, lo, hi) with NaN kept; an absent bound is passed as has_lo / has_hi = false.
KILN_DECLARE_DISPATCH(clamp_stub,
                      void (*)(const ElementwiseIter&, const Scalar& lo, const Scalar& hi, bool has_lo, bool has_hi));

/// out = cond ? a : b (operands: out, bool cond, a, b).
KILN_DECLARE_DISPATCH(where_stub, void (*)(const ElementwiseIter&));
/// out = cond == value_when ? value : a (operands: out, bool cond, a). masked_fill and where(c, a, scalar).
KILN_DECLARE_DISPATCH(select_scalar_stub, void (*)(const ElementwiseIter&, const Scalar& value, bool value_when));

enum class TernaryOp : int8_t { Addcmul, Addcdiv, Lerp };
/// Addcmul: out = self + s*a*b; Addcdiv: out = self + s*a/b (operands out, self, a, b);
/// Lerp: out = self + s*(end - self) (operands out, self, end).
KILN_DECLARE_DISPATCH(ternary_stub, void (*)(const ElementwiseIter&, TernaryOp, const Scalar& s));

/// bool out = |a - b| <= atol + rtol*|b| (with torch's inf and NaN rules).
KILN_DECLARE_DISPATCH(isclose_stub, void (*)(const ElementwiseIter&, double rtol, double atol, bool equal_nan));
}  // namespace kiln::ops
