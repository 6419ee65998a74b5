// In-place unary math: the op table's exp_, log_, sqrt_, sin_, tanh_, sigmoid_, ... (generated from
// KILN_FORALL_UNARY_OPS), and abs_, neg_, pow_, with the out-of-place ops' gradients.
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/pointwise/inplace_common.h"
#include "ops/pointwise/unary_grads.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::InputMeta;
using ops::reduce_grad;

namespace ops {
namespace {
// self = kernel(self). The gradient is backward(g, x, y): x is self's value before the write (cloned only when
// the gradient needs it), y the result, saved as self's own output (without its graph, see relu_).
const Tensor& unary_inplace(const char* op, const char* node, const Tensor& self, UnaryOp kernel, DType rt,
                            bool save_input, bool save_output, UnaryBackwardFn backward) {
  bool track = begin_inplace(op, self, {}, self.sizes(), rt);
  Tensor old;
  if (track && save_input) {
    NoGradGuard no_grad;
    old = clone(self);
  }
  run_inplace(op, self, {self},
              [&](const ElementwiseIter& it) { unary_stub(self.device().type(), it, kernel, 0, 0); });
  if (track)
    autograd::record(node, self, {self},
                     [old, so = save_output ? SavedTensor(self, true) : SavedTensor(), backward](
                         const TensorList& g, const std::vector<bool>&) {
                       return TensorList{backward(g[0], old, so.defined() ? so.get() : Tensor())};
                     });
  return self;
}

Tensor abs_backward(const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, sign(x)); }
Tensor neg_backward(const Tensor& g, const Tensor&, const Tensor&) { return neg(g); }

enum class Saves : int8_t { Input, Output };
}  // namespace
}  // namespace ops

// exp_ computes into self: self must be floating (an integer self cannot hold the float result: DTypeError).
#define KILN_DEFINE_TABLE_UNARY_INPLACE(name, Kernel, autocast, saves, node)                                    \
  const Tensor& name##_(const Tensor& self) {                                                                   \
    return ops::unary_inplace(#name "_", #node, self, ops::UnaryOp::Kernel, ops::floating_compute(self.dtype()), \
                              ops::Saves::saves == ops::Saves::Input, ops::Saves::saves == ops::Saves::Output,  \
                              &ops::name##_backward);                                                           \
  }                                                                                                             \
  const Tensor& Tensor::name##_() const { return kiln::name##_(*this); }
KILN_FORALL_UNARY_OPS(KILN_DEFINE_TABLE_UNARY_INPLACE)
#undef KILN_DEFINE_TABLE_UNARY_INPLACE

const Tensor& abs_(const Tensor& self) {
  KILN_CHECK_DTYPE(self.dtype() != kBool, "abs_: not supported for bool tensors");
  return ops::unary_inplace("abs_", "AbsBackward0", self, ops::UnaryOp::Abs, self.dtype(), true, false,
                            &ops::abs_backward);
}

const Tensor& neg_(const Tensor& self) {
  ops::check_not_bool("neg_", self.dtype(), "To invert a mask in place, use logical_not_ or ~ instead.");
  return ops::unary_inplace("neg_", "NegBackward0", self, ops::UnaryOp::Neg, self.dtype(), false, false,
                            &ops::neg_backward);
}

const Tensor& pow_(const Tensor& self, const Scalar& e) {
  DType rt = result_type(self, e);
  KILN_CHECK(is_floating_point(rt) || e.to_double() >= 0, "pow_: integers to negative integer powers are not ",
             "allowed (", dtype_name(self.dtype()), " tensor ** ", e, "); convert the tensor to a floating dtype first");
  bool track = ops::begin_inplace("pow_", self, {}, self.sizes(), rt);
  Tensor old;
  if (track) {
    NoGradGuard no_grad;
    old = clone(self);
  }
  ops::binary_scalar_inplace("pow_", self, e, ops::BinaryOp::Pow, rt, 1, false);
  if (track)
    autograd::record("PowBackward0", self, {self}, [old, e](const TensorList& g, const std::vector<bool>&) {
      if (e.to_double() == 0.0) return TensorList{zeros_like(g[0])};
      double em1 = e.to_double() - 1.0;
      Tensor d = em1 == 0.0 ? g[0] : mul(g[0], pow(old, Scalar(em1)));
      return TensorList{mul(d, e)};
    });
  return self;
}

const Tensor& pow_(const Tensor& self, const Tensor& e) {
  DType rt = result_type(self, e);
  bool track = ops::begin_inplace("pow_", self, {&e}, ops::broadcast_shape("pow_", self.sizes(), e.sizes()), rt);
  Tensor old;
  if (track) {
    NoGradGuard no_grad;
    old = clone(self);
  }
  // An exponent that is self (x.pow_(x)) is read before the write too: the gradient uses the clone.
  bool alias = e.impl_ptr() == self.impl_ptr();
  SavedTensor se = track && !alias ? SavedTensor(e) : SavedTensor();
  InputMeta ms(self), me(e);
  ops::binary_inplace("pow_", self, e, ops::BinaryOp::Pow, rt, 1);
  if (track)
    autograd::record("PowBackward1", self, {self, e},
                     [ms, me, old, se, alias](const TensorList& g, const std::vector<bool>& need) {
                       // The out-of-place pow's gradient, evaluated at the values before the write.
                       Tensor ev = alias ? old : se.get();
                       TensorList r(2);
                       if (need[0])
                         r[0] = reduce_grad(masked_fill(mul(g[0], mul(ev, pow(old, sub(ev, 1)))), eq(ev, 0), 0),
                                            ms.shape, ms.dtype);
                       if (need[1])
                         r[1] = reduce_grad(mul(g[0], masked_fill(mul(pow(old, ev), log(old)),
                                                                  logical_and(eq(old, 0), ge(ev, 0)), 0)),
                                            me.shape, me.dtype);
                       return r;
                     });
  return self;
}

const Tensor& Tensor::abs_() const { return kiln::abs_(*this); }
const Tensor& Tensor::neg_() const { return kiln::neg_(*this); }
const Tensor& Tensor::relu_() const { return kiln::relu_(*this); }
const Tensor& Tensor::pow_(const Scalar& e) const { return kiln::pow_(*this, e); }
const Tensor& Tensor::pow_(const Tensor& e) const { return kiln::pow_(*this, e); }
const Tensor& Tensor::clamp_min_(const Scalar& lo) const { return kiln::clamp_min_(*this, lo); }
const Tensor& Tensor::clamp_max_(const Scalar& hi) const { return kiln::clamp_max_(*this, hi); }
}  // namespace kiln
