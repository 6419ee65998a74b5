// Dispatch stubs of the pointwise family: the op codes the front end passes and the kernels' signatures.
#pragma once
#include <cstdint>

#include "kiln/core/scalar.h"
#include "kiln/tensor/ops/op_table.h"
#include "ops/dispatch.h"
#include "ops/elementwise/iter.h"

namespace kiln::ops {

// Every kernel below sees inputs of one compute dtype (the front end casts first); the output dtype is
// either that dtype or bool (comparisons, predicates), as each comment says.

/// The op codes of the binary kernels: one per row of KILN_FORALL_BINARY_OPS.
#define KILN_BINARY_OP_ENUM_ROW(name, E, ...) E,
enum class BinaryOp : int8_t { KILN_FORALL_BINARY_OPS(KILN_BINARY_OP_ENUM_ROW) };
#undef KILN_BINARY_OP_ENUM_ROW

/// A row of the binary op table as runtime values (for the generic front end, messages and wrappers).
struct BinaryOpInfo {
  const char* name;       ///< "maximum"
  const char* node_name;  ///< "MaximumBackward0", the autograd node
  BinaryOp op;
  KernelDTypes dtypes;
  AutocastCategory autocast;
};
const BinaryOpInfo& binary_op_info(BinaryOp op);
/// out = op(a, b), all one dtype; Add is a + alpha*b (sub passes -alpha). Div expects a floating dtype.
/// Remainder with an integer dtype expects a divisor without zeros (the front end checks it on every device).
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

/// The unary kernels, declared once: op code, the dtypes the kernel accepts (Numeric: integers too, the
/// result in the input's dtype; Floating: the front end converts integers to float32 first), then the
/// functor built from T (the opmath type) and the parameters p0, p1.
#define KILN_FORALL_UNARY_KERNELS(_)                                     \
  _(Neg, Numeric, NegFn{})                                               \
  _(Abs, Numeric, AbsFn{})                                               \
  _(Sign, Numeric, SignFn{})                                             \
  _(Square, Numeric, SquareFn{})                                         \
  _(Relu, Numeric, ReluFn{})                                             \
  _(Exp, Floating, ExpFn{})                                              \
  _(Log, Floating, LogFn{})                                              \
  _(Log1p, Floating, Log1pFn{})                                          \
  _(Sqrt, Floating, SqrtFn{})                                            \
  _(Rsqrt, Floating, RsqrtFn{})                                          \
  _(Sin, Floating, SinFn{})                                              \
  _(Cos, Floating, CosFn{})                                              \
  _(Tanh, Floating, TanhFn{})                                            \
  _(Sigmoid, Floating, SigmoidFn{})                                      \
  _(Reciprocal, Floating, ReciprocalFn{})                                \
  _(Floor, Floating, FloorFn{})                                          \
  _(Ceil, Floating, CeilFn{})                                            \
  _(Round, Floating, RoundFn{})                                          \
  _(LeakyRelu, Floating, LeakyReluFn<T>{T(p0)}) /* p0: negative slope */ \
  _(GeluErf, Floating, GeluErfFn{})                                      \
  _(GeluTanh, Floating, GeluTanhFn{})                                    \
  _(Silu, Floating, SiluFn{})                                            \
  _(Softplus, Floating, SoftplusFn<T>{T(p0), T(p1)}) /* beta, threshold */ \
  _(NormCdf, Floating, NormCdfFn{}) /* standard normal CDF (gelu's gradient) */

#define KILN_UNARY_OP_ENUM_ROW(E, ...) E,
enum class UnaryOp : int8_t { KILN_FORALL_UNARY_KERNELS(KILN_UNARY_OP_ENUM_ROW) };
#undef KILN_UNARY_OP_ENUM_ROW
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

/// Whether a kernel whose table row says `dtypes` computes in scalar_t.
template <KernelDTypes dtypes, typename scalar_t>
constexpr bool kernel_accepts = dtypes == KernelDTypes::All ? true
                                : dtypes == KernelDTypes::Numeric ? is_numeric_cpp<scalar_t>::value
                                                                  : is_floating_cpp<scalar_t>::value;

// ---- the kernels for one dtype: bodies in binary_dispatch.h and unary_dispatch.h, instantiated once per
// dtype and device by the *.per_dtype.cpp/.cu files (KILN_INSTANTIATE_POINTWISE_*), declared here only so
// that registering a kernel never compiles their bodies ----
template <typename Loop, typename T> void binary_typed(const ElementwiseIter&, BinaryOp, const Scalar&);
template <typename Loop, typename T> void binary_scalar_typed(const ElementwiseIter&, BinaryOp, const Scalar&, const Scalar&, bool);
template <typename Loop, typename T> void compare_typed(const ElementwiseIter&, CompareOp);
template <typename Loop, typename T> void compare_scalar_typed(const ElementwiseIter&, CompareOp, const Scalar&);
template <typename Loop, typename T> void logical_typed(const ElementwiseIter&, LogicalOp);
template <typename Loop, typename T> void isclose_typed(const ElementwiseIter&, double, double, bool);
template <typename Loop, typename T> void where_typed(const ElementwiseIter&);
template <typename Loop, typename T> void select_scalar_typed(const ElementwiseIter&, const Scalar&, bool);
template <typename Loop, typename T> void ternary_typed(const ElementwiseIter&, TernaryOp, const Scalar&);
template <typename Loop, typename T> void unary_typed(const ElementwiseIter&, UnaryOp, double, double);
template <typename Loop, typename T> void unary_backward_typed(const ElementwiseIter&, UnaryBackwardOp, double, double);
template <typename Loop, typename T> void float_class_typed(const ElementwiseIter&, FloatClass);
template <typename Loop, typename T> void clamp_typed(const ElementwiseIter&, const Scalar&, const Scalar&, bool, bool);

#define KILN_INSTANTIATE_POINTWISE_BINARY(Loop, T)                                                          \
  template void binary_typed<Loop, T>(const ElementwiseIter&, BinaryOp, const Scalar&);                      \
  template void binary_scalar_typed<Loop, T>(const ElementwiseIter&, BinaryOp, const Scalar&, const Scalar&, \
                                             bool);                                                          \
  template void compare_typed<Loop, T>(const ElementwiseIter&, CompareOp);                                   \
  template void compare_scalar_typed<Loop, T>(const ElementwiseIter&, CompareOp, const Scalar&);             \
  template void logical_typed<Loop, T>(const ElementwiseIter&, LogicalOp);                                   \
  template void isclose_typed<Loop, T>(const ElementwiseIter&, double, double, bool);                        \
  template void where_typed<Loop, T>(const ElementwiseIter&);                                                \
  template void select_scalar_typed<Loop, T>(const ElementwiseIter&, const Scalar&, bool);                   \
  template void ternary_typed<Loop, T>(const ElementwiseIter&, TernaryOp, const Scalar&);
#define KILN_INSTANTIATE_POINTWISE_UNARY(Loop, T)                                                           \
  template void unary_typed<Loop, T>(const ElementwiseIter&, UnaryOp, double, double);                       \
  template void unary_backward_typed<Loop, T>(const ElementwiseIter&, UnaryBackwardOp, double, double);      \
  template void float_class_typed<Loop, T>(const ElementwiseIter&, FloatClass);                              \
  template void clamp_typed<Loop, T>(const ElementwiseIter&, const Scalar&, const Scalar&, bool, bool);

/// Registers the pointwise family's kernels for one device: each picks the instance for the operands'
/// dtype at run time (operand 0 is the output; comparisons and predicates dispatch on the input's dtype).
#define KILN_REGISTER_POINTWISE_KERNELS(Loop, device)                                                           \
  KILN_REGISTER_KERNEL(binary_stub, device, [](const ElementwiseIter& it, BinaryOp op, const Scalar& alpha) {  \
    KILN_DISPATCH_ALL(it.dtypes[0], binary_op_info(op).name, [&] { binary_typed<Loop, scalar_t>(it, op, alpha); }); \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(binary_scalar_stub, device,                                                             \
                       [](const ElementwiseIter& it, BinaryOp op, const Scalar& s, const Scalar& alpha, bool first) { \
                         KILN_DISPATCH_ALL(it.dtypes[0], binary_op_info(op).name,                              \
                                           [&] { binary_scalar_typed<Loop, scalar_t>(it, op, s, alpha, first); }); \
                       });                                                                                     \
  KILN_REGISTER_KERNEL(compare_stub, device, [](const ElementwiseIter& it, CompareOp op) {                     \
    KILN_DISPATCH_ALL(it.dtypes[1], "compare", [&] { compare_typed<Loop, scalar_t>(it, op); });                \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(compare_scalar_stub, device, [](const ElementwiseIter& it, CompareOp op, const Scalar& s) { \
    KILN_DISPATCH_ALL(it.dtypes[1], "compare", [&] { compare_scalar_typed<Loop, scalar_t>(it, op, s); });      \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(logical_stub, device, [](const ElementwiseIter& it, LogicalOp op) {                     \
    KILN_DISPATCH_ALL(it.dtypes[0], "logical", [&] { logical_typed<Loop, scalar_t>(it, op); });                \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(isclose_stub, device, [](const ElementwiseIter& it, double rtol, double atol, bool nan) { \
    KILN_DISPATCH_ALL(it.dtypes[1], "isclose", [&] { isclose_typed<Loop, scalar_t>(it, rtol, atol, nan); });   \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(where_stub, device, [](const ElementwiseIter& it) {                                     \
    KILN_DISPATCH_ALL(it.dtypes[0], "where", [&] { where_typed<Loop, scalar_t>(it); });                        \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(select_scalar_stub, device, [](const ElementwiseIter& it, const Scalar& v, bool when) {  \
    KILN_DISPATCH_ALL(it.dtypes[0], "masked_fill", [&] { select_scalar_typed<Loop, scalar_t>(it, v, when); }); \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(ternary_stub, device, [](const ElementwiseIter& it, TernaryOp op, const Scalar& s) {    \
    KILN_DISPATCH_ALL(it.dtypes[0], "addcmul", [&] { ternary_typed<Loop, scalar_t>(it, op, s); });             \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(unary_stub, device, [](const ElementwiseIter& it, UnaryOp op, double p0, double p1) {   \
    KILN_DISPATCH_ALL(it.dtypes[0], "unary", [&] { unary_typed<Loop, scalar_t>(it, op, p0, p1); });            \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(unary_backward_stub, device,                                                            \
                       [](const ElementwiseIter& it, UnaryBackwardOp op, double p0, double p1) {               \
                         KILN_DISPATCH_ALL(it.dtypes[0], "unary_backward",                                     \
                                           [&] { unary_backward_typed<Loop, scalar_t>(it, op, p0, p1); });     \
                       });                                                                                     \
  KILN_REGISTER_KERNEL(float_class_stub, device, [](const ElementwiseIter& it, FloatClass op) {                \
    KILN_DISPATCH_ALL(it.dtypes[1], "isnan", [&] { float_class_typed<Loop, scalar_t>(it, op); });              \
  });                                                                                                          \
  KILN_REGISTER_KERNEL(clamp_stub, device,                                                                     \
                       [](const ElementwiseIter& it, const Scalar& lo, const Scalar& hi, bool has_lo, bool has_hi) { \
                         KILN_DISPATCH_ALL(it.dtypes[0], "clamp",                                              \
                                           [&] { clamp_typed<Loop, scalar_t>(it, lo, hi, has_lo, has_hi); });  \
                       })
}  // namespace kiln::ops
