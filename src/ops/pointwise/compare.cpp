// Comparison and logic front end: eq/ne/lt/le/gt/ge, logical_*, isnan/isinf/isfinite, allclose, equal (bool results).
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using ops::CompareOp;
using ops::LogicalOp;

namespace {
Tensor bool_output(const char* name, const Tensor& a, const Tensor& b) {
  ops::check_same_device(name, {&a, &b});
  return ops::make_elementwise_output(ops::broadcast_shape(name, a.sizes(), b.sizes()), kBool, a.device(), {&a, &b});
}

Tensor compare(const char* name, CompareOp op, const Tensor& a, const Tensor& b) {
  Tensor out = bool_output(name, a, b);
  if (out.numel() == 0) return out;
  DType rt = result_type(a, b);
  Tensor x = ops::cast_for_kernel(a, rt), y = ops::cast_for_kernel(b, rt);
  // a > b is b < a: two fewer kernels to compile per dtype.
  if (op == CompareOp::Gt || op == CompareOp::Ge) {
    std::swap(x, y);
    op = op == CompareOp::Gt ? CompareOp::Lt : CompareOp::Le;
  }
  auto it = ops::make_elementwise_iter(out, {x, y}, name);
  ops::compare_stub(out.device().type(), it, op);
  return out;
}

Tensor compare(const char* name, CompareOp op, const Tensor& a, const Scalar& s) {
  Tensor out = ops::make_elementwise_output(a.sizes(), kBool, a.device(), {&a});
  if (out.numel() == 0) return out;
  Tensor x = ops::cast_for_kernel(a, result_type(a, s));
  auto it = ops::make_elementwise_iter(out, {x}, name);
  ops::compare_scalar_stub(out.device().type(), it, op, s);
  return out;
}

Tensor logical(const char* name, LogicalOp op, const Tensor& a, const Tensor& b) {
  Tensor out = bool_output(name, a, b);
  if (out.numel() == 0) return out;
  Tensor x = ops::cast_for_kernel(a, kBool), y = ops::cast_for_kernel(b, kBool);  // nonzero (and NaN) is true
  auto it = ops::make_elementwise_iter(out, {x, y}, name);
  ops::logical_stub(out.device().type(), it, op);
  return out;
}

Tensor float_class(const char* name, ops::FloatClass op, const Tensor& a) {
  // Integers are never NaN or infinite.
  if (!a.is_floating_point())
    return full(a.sizes(), op == ops::FloatClass::IsFinite, TensorOptions(kBool).device(a.device()));
  Tensor out = ops::make_elementwise_output(a.sizes(), kBool, a.device(), {&a});
  if (out.numel() == 0) return out;
  auto it = ops::make_elementwise_iter(out, {a}, name);
  ops::float_class_stub(out.device().type(), it, op);
  return out;
}
}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", CompareOp::Eq, a, b); }
Tensor eq(const Tensor& a, const Scalar& b) { return compare("eq", CompareOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", CompareOp::Ne, a, b); }
Tensor ne(const Tensor& a, const Scalar& b) { return compare("ne", CompareOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", CompareOp::Lt, a, b); }
Tensor lt(const Tensor& a, const Scalar& b) { return compare("lt", CompareOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", CompareOp::Le, a, b); }
Tensor le(const Tensor& a, const Scalar& b) { return compare("le", CompareOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", CompareOp::Gt, a, b); }
Tensor gt(const Tensor& a, const Scalar& b) { return compare("gt", CompareOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", CompareOp::Ge, a, b); }
Tensor ge(const Tensor& a, const Scalar& b) { return compare("ge", CompareOp::Ge, a, b); }

Tensor logical_and(const Tensor& a, const Tensor& b) { return logical("logical_and", LogicalOp::And, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return logical("logical_or", LogicalOp::Or, a, b); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return logical("logical_xor", LogicalOp::Xor, a, b); }
Tensor logical_not(const Tensor& a) {
  Tensor out = ops::make_elementwise_output(a.sizes(), kBool, a.device(), {&a});
  if (out.numel() == 0) return out;
  Tensor x = ops::cast_for_kernel(a, kBool);
  auto it = ops::make_elementwise_iter(out, {x}, "logical_not");
  ops::logical_stub(out.device().type(), it, LogicalOp::Not);
  return out;
}

Tensor isnan(const Tensor& a) { return float_class("isnan", ops::FloatClass::IsNan, a); }
Tensor isinf(const Tensor& a) { return float_class("isinf", ops::FloatClass::IsInf, a); }
Tensor isfinite(const Tensor& a) { return float_class("isfinite", ops::FloatClass::IsFinite, a); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  KILN_CHECK_DTYPE(a.dtype() == b.dtype(), "allclose: both tensors must have the same dtype, got ", a.dtype(), " and ",
                   b.dtype(), "; convert one with .to(", a.dtype(), ")");
  KILN_CHECK(rtol >= 0 && atol >= 0, "allclose: rtol and atol must be non-negative, got rtol=", rtol, " atol=", atol);
  Tensor out = bool_output("allclose", a, b);
  if (out.numel() == 0) return true;
  auto it = ops::make_elementwise_iter(out, {a, b}, "allclose");
  ops::isclose_stub(out.device().type(), it, rtol, atol, equal_nan);
  NoGradGuard no_grad;
  return all(out).item<bool>();
}

bool equal(const Tensor& a, const Tensor& b) {
  ops::check_same_device("equal", {&a, &b});
  if (a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;
  NoGradGuard no_grad;
  return all(eq(a, b)).item<bool>();
}
}  // namespace kiln
