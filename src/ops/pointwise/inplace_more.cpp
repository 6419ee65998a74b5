// In-place front end, part two: fill_, zero_ (through the copy family's fill_stub), clamp_ (and _min_/_max_), masked_fill_,
// relu_, and the optimizer building blocks addcmul_, addcdiv_, lerp_, with gradients.
#include "kiln/tensor/ops/creation.h"
#include "ops/copy/copy_kernels.h"
#include "ops/pointwise/clamp_bounds.h"
#include "ops/pointwise/inplace_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::InputMeta;
using ops::reduce_grad;

const Tensor& fill_(const Tensor& self, const Scalar& v) {
  bool track = ops::begin_inplace("fill_", self, {}, self.sizes(), self.dtype());
  ops::run_inplace("fill_", self, {},
                   [&](const ops::ElementwiseIter& it) { ops::fill_stub(self.device().type(), it, v); });
  if (track)  // the old value is overwritten: it gets a zero gradient
    autograd::record("FillBackward0", self, {self},
                     [](const TensorList& g, const std::vector<bool>&) { return TensorList{zeros_like(g[0])}; });
  return self;
}

const Tensor& zero_(const Tensor& self) { return fill_(self, 0); }

namespace {
// clamp_, clamp_min_ and clamp_max_: lo or hi may be null (not both).
const Tensor& clamp_inplace(const char* op, const char* node, const Tensor& self, const Scalar* lo, const Scalar* hi) {
  ops::ClampPlan p = ops::plan_clamp(op, self, lo, hi);
  bool track = ops::begin_inplace(op, self, {}, self.sizes(), p.dtype);
  Tensor mask;  // where the gradient passes, taken from self before the write
  if (track) {
    NoGradGuard no_grad;
    mask = ops::clamp_mask(self, p);
  }
  // p.dtype is self's here: a bound can only raise the category (int -> float), which the cast check refused.
  ops::run_inplace(op, self, {self}, [&](const ops::ElementwiseIter& it) {
    ops::clamp_stub(self.device().type(), it, p.lo, p.hi, p.has_lo, p.has_hi);
  });
  if (track)
    autograd::record(node, self, {self}, [mask](const TensorList& g, const std::vector<bool>&) {
      return TensorList{where(mask, g[0], 0)};
    });
  return self;
}
}  // namespace

const Tensor& clamp_(const Tensor& self, const Scalar& lo, const Scalar& hi) {
  return clamp_inplace("clamp_", "ClampBackward1", self, &lo, &hi);
}
const Tensor& clamp_min_(const Tensor& self, const Scalar& lo) {
  return clamp_inplace("clamp_min_", "ClampMinBackward0", self, &lo, nullptr);
}
const Tensor& clamp_max_(const Tensor& self, const Scalar& hi) {
  return clamp_inplace("clamp_max_", "ClampMaxBackward0", self, nullptr, &hi);
}

const Tensor& masked_fill_(const Tensor& self, const Tensor& mask, const Scalar& value) {
  KILN_CHECK_DTYPE(mask.dtype() == kBool, "masked_fill_: expected a bool mask, got ", mask.dtype(),
                   "; build one with a comparison (e.g. x > 0) or .to(kBool)");
  bool track = ops::begin_inplace("masked_fill_", self, {&mask},
                                  ops::broadcast_shape("masked_fill_", self.sizes(), mask.sizes()), self.dtype());
  ops::run_inplace("masked_fill_", self, {mask, self}, [&](const ops::ElementwiseIter& it) {
    ops::select_scalar_stub(self.device().type(), it, value, true);
  });
  if (track)
    autograd::record("MaskedFillBackward0", self, {self},
                     [sm = SavedTensor(mask)](const TensorList& g, const std::vector<bool>&) {
                       return TensorList{masked_fill(g[0], sm.get(), 0)};
                     });
  return self;
}

const Tensor& relu_(const Tensor& self) {
  KILN_CHECK_DTYPE(self.dtype() != kBool, "relu_: not supported for bool tensors");
  bool track = ops::begin_inplace("relu_", self, {}, self.sizes(), self.dtype());
  ops::run_inplace("relu_", self, {self}, [&](const ops::ElementwiseIter& it) {
    ops::unary_stub(self.device().type(), it, ops::UnaryOp::Relu, 0, 0);
  });
  if (track)
    autograd::record("ReluBackward0", self, {self},
                     [so = SavedTensor(self, true)](const TensorList& g, const std::vector<bool>&) {
                       Tensor y = so.get();
                       if (!autograd::grad_mode_enabled())
                         return TensorList{ops::unary_backward_raw(ops::UnaryBackwardOp::ReluOut, g[0], y)};
                       return TensorList{masked_fill(g[0], le(y, 0), 0)};
                     });
  return self;
}

namespace {
// Shared body of addcmul_/addcdiv_/lerp_: validation, the fused kernel (or a wider computation stored
// back), and the bookkeeping the gradient needs. `b` is undefined for lerp_.
void ternary_inplace(const char* op, ops::TernaryOp top, const Tensor& self, const Tensor& a, const Tensor& b,
                     const Scalar& s, bool& track) {
  ops::ResultType rtype;
  rtype.add(self).add(a);
  Shape shape = ops::broadcast_shape(op, self.sizes(), a.sizes());
  if (b.defined()) {
    rtype.add(b);
    shape = ops::broadcast_shape(op, shape, b.sizes());
  }
  DType rt = rtype.get();
  ops::check_alpha(op, rt, s);
  KILN_CHECK_DTYPE(top == ops::TernaryOp::Addcmul || is_floating_point(rt), op,
                   ": needs floating tensors (integer division and interpolation are not supported), got ",
                   dtype_name(rt));
  std::vector<const Tensor*> others{&a};
  if (b.defined()) others.push_back(&b);
  track = ops::begin_inplace(op, self, others, shape, rt);
  std::vector<Tensor> inputs{ops::cast_for_kernel(self, rt), ops::cast_for_kernel(a, rt)};
  if (b.defined()) inputs.push_back(ops::cast_for_kernel(b, rt));
  if (rt == self.dtype()) {
    ops::run_inplace(op, self, inputs,
                     [&](const ops::ElementwiseIter& it) { ops::ternary_stub(self.device().type(), it, top, s); });
  } else {
    Tensor out = ops::make_elementwise_output(self.sizes(), rt, self.device(), {&self});
    if (out.numel() > 0) {
      auto it = ops::make_elementwise_iter(out, inputs, op);
      ops::ternary_stub(out.device().type(), it, top, s);
    }
    ops::store_result(self, out);
  }
}
}  // namespace

const Tensor& addcmul_(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  bool track = false;
  bool want = autograd::needs_grad({&self, &a, &b});  // saved before the write in case a or b alias self
  SavedTensor sa = want ? ops::save_inplace_operand(a, self) : SavedTensor(),
              sb = want ? ops::save_inplace_operand(b, self) : SavedTensor();
  InputMeta ms(self), ma(a), mb(b);
  ternary_inplace("addcmul_", ops::TernaryOp::Addcmul, self, a, b, alpha, track);
  if (track)
    autograd::record("AddcmulBackward0", self, {self, a, b},
                     [ms, ma, mb, sa, sb, alpha](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(3);
                       if (need[0]) r[0] = reduce_grad(g[0], ms.shape, ms.dtype);
                       if (need[1]) r[1] = reduce_grad(mul(mul(g[0], sb.get()), alpha), ma.shape, ma.dtype);
                       if (need[2]) r[2] = reduce_grad(mul(mul(g[0], sa.get()), alpha), mb.shape, mb.dtype);
                       return r;
                     });
  return self;
}

const Tensor& addcdiv_(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  bool track = false;
  bool want = autograd::needs_grad({&self, &a, &b});  // saved before the write in case a or b alias self
  SavedTensor sa = want ? ops::save_inplace_operand(a, self) : SavedTensor(),
              sb = want ? ops::save_inplace_operand(b, self) : SavedTensor();
  InputMeta ms(self), ma(a), mb(b);
  ternary_inplace("addcdiv_", ops::TernaryOp::Addcdiv, self, a, b, alpha, track);
  if (track)
    autograd::record("AddcdivBackward0", self, {self, a, b},
                     [ms, ma, mb, sa, sb, alpha](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(3);
                       Tensor bv = sb.get();
                       if (need[0]) r[0] = reduce_grad(g[0], ms.shape, ms.dtype);
                       if (need[1]) r[1] = reduce_grad(mul(div(g[0], bv), alpha), ma.shape, ma.dtype);
                       // d(a/b)/db = -a/b^2
                       if (need[2])
                         r[2] = reduce_grad(neg(mul(mul(g[0], div(div(sa.get(), bv), bv)), alpha)), mb.shape, mb.dtype);
                       return r;
                     });
  return self;
}

const Tensor& lerp_(const Tensor& self, const Tensor& end, const Scalar& w) {
  bool track = false;
  InputMeta ms(self), me(end);
  ternary_inplace("lerp_", ops::TernaryOp::Lerp, self, end, Tensor(), w, track);
  if (track)
    autograd::record("LerpBackward0", self, {self, end},
                     [ms, me, w](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = reduce_grad(mul(g[0], 1.0 - w.to_double()), ms.shape, ms.dtype);
                       if (need[1]) r[1] = reduce_grad(mul(g[0], w), me.shape, me.dtype);
                       return r;
                     });
  return self;
}
}  // namespace kiln
