// Arithmetic front end: add, sub, rsub, mul, div (tensor and Scalar forms) with promotion and gradients.
#include "kiln/tensor/ops/creation.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::BinaryOp;
using ops::InputMeta;
using ops::reduce_grad;

using ops::check_alpha;
using ops::check_sub_dtypes;
using ops::is_one;
using ops::negate;

namespace {
// a + alpha*b with gradients (sub is this with -alpha; name tells the node apart).
Tensor add_impl(const char* op, const char* node, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  DType rt = result_type(a, b);
  check_alpha(op, rt, alpha);
  Tensor out = ops::binary_raw(op, BinaryOp::Add, a, b, rt, alpha);
  if (autograd::needs_grad({&a, &b})) {
    autograd::record(node, out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b), alpha](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = reduce_grad(g[0], ma.shape, ma.dtype);
                       if (need[1]) r[1] = reduce_grad(is_one(alpha) ? g[0] : mul(g[0], alpha), mb.shape, mb.dtype);
                       return r;
                     });
  }
  return out;
}

// s + alpha*a for a Scalar s (add, sub and rsub with a Scalar); the gradient is alpha*g.
Tensor add_scalar_impl(const char* op, const char* node, const Tensor& a, const Scalar& s, const Scalar& alpha) {
  DType rt = result_type(a, s);
  Tensor out = ops::binary_scalar_raw(op, BinaryOp::Add, a, s, rt, alpha, true);
  if (autograd::needs_grad({&a})) {
    autograd::record(node, out, {a}, [ma = InputMeta(a), alpha](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(is_one(alpha) ? g[0] : mul(g[0], alpha), ma.shape, ma.dtype)};
    });
  }
  return out;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return add_impl("add", "AddBackward0", a, b, alpha);
}

Tensor add(const Tensor& a, const Scalar& b) { return add_scalar_impl("add", "AddBackward1", a, b, 1); }

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  check_sub_dtypes("sub", a.dtype(), b.dtype());
  return add_impl("sub", "SubBackward0", a, b, negate(alpha));
}

Tensor sub(const Tensor& a, const Scalar& b) {
  check_sub_dtypes("sub", a.dtype(), b.is_bool() ? kBool : kInt64);
  return add_scalar_impl("sub", "SubBackward1", a, negate(b), 1);
}

Tensor rsub(const Tensor& a, const Scalar& b) {
  check_sub_dtypes("rsub", a.dtype(), b.is_bool() ? kBool : kInt64);
  return add_scalar_impl("rsub", "RsubBackward1", a, b, -1);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = ops::binary_raw("mul", BinaryOp::Mul, a, b, result_type(a, b));
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("MulBackward0", out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b), sa = SavedTensor(a), sb = SavedTensor(b)](
                         const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = reduce_grad(mul(g[0], sb.get()), ma.shape, ma.dtype);
                       if (need[1]) r[1] = reduce_grad(mul(g[0], sa.get()), mb.shape, mb.dtype);
                       return r;
                     });
  }
  return out;
}

Tensor mul(const Tensor& a, const Scalar& b) {
  Tensor out = ops::binary_scalar_raw("mul", BinaryOp::Mul, a, b, result_type(a, b));
  if (autograd::needs_grad({&a})) {
    autograd::record("MulBackward1", out, {a}, [ma = InputMeta(a), b](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(mul(g[0], b), ma.shape, ma.dtype)};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = ops::binary_raw("div", BinaryOp::Div, a, b, ops::floating_compute(result_type(a, b)));
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("DivBackward0", out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b), sa = SavedTensor(a), sb = SavedTensor(b)](
                         const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       Tensor bv = sb.get();
                       if (need[0]) r[0] = reduce_grad(div(g[0], bv), ma.shape, ma.dtype);
                       if (need[1]) r[1] = reduce_grad(neg(mul(g[0], div(div(sa.get(), bv), bv))), mb.shape, mb.dtype);
                       return r;
                     });
  }
  return out;
}

Tensor div(const Tensor& a, const Scalar& b) {
  Tensor out = ops::binary_scalar_raw("div", BinaryOp::Div, a, b, ops::floating_compute(result_type(a, b)));
  if (autograd::needs_grad({&a})) {
    autograd::record("DivBackward1", out, {a}, [ma = InputMeta(a), b](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(div(g[0], b), ma.shape, ma.dtype)};
    });
  }
  return out;
}
}  // namespace kiln
