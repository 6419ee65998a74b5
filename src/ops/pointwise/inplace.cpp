// In-place arithmetic front end (add_, sub_, mul_, div_, with tensors and Scalars) with PyTorch's rules:
// the broadcast result must have self's shape and a dtype castable to self's; gradients as the out-of-place ops.
#include "kiln/tensor/ops/copy.h"
#include "ops/pointwise/inplace_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::BinaryOp;
using ops::InputMeta;
using ops::reduce_grad;

namespace ops {
void store_result(const Tensor& self, const Tensor& r) {
  NoGradGuard no_grad;
  copy_(self, r);
}

bool begin_inplace(const char* op, const Tensor& self, const std::vector<const Tensor*>& others, const Shape& result_shape,
                   DType result_dtype) {
  std::vector<const Tensor*> all{&self};
  all.insert(all.end(), others.begin(), others.end());
  check_same_device(op, all);
  // An expanded self (stride 0 over a size > 1) would have several results race for one element.
  for (int64_t d = 0; d < self.dim(); ++d)
    KILN_CHECK(self.stride(d) != 0 || self.size(d) <= 1, op, ": more than one element of the written-to tensor ",
               "refers to a single memory location (an expanded tensor of shape ", self.shape_str(),
               "); call .clone() on it before the in-place operation");
  check_inplace_result(op, self, result_shape, result_dtype);
  bool track = false;
  if (autograd::grad_mode_enabled())
    for (const Tensor* t : all)
      if (t->defined() && t->requires_grad()) track = true;
  autograd::check_inplace(self, op, track);  // last: a refused op leaves the version alone
  return track;
}

void binary_inplace(const char* op, const Tensor& self, const Tensor& b, BinaryOp bop, DType rt, const Scalar& alpha) {
  if (rt != self.dtype()) return store_result(self, binary_raw(op, bop, self, b, rt, alpha));
  Tensor cb = cast_for_kernel(b, rt);
  run_inplace(op, self, {self, cb},
              [&](const ElementwiseIter& it) { binary_stub(self.device().type(), it, bop, alpha); });
}

void binary_scalar_inplace(const char* op, const Tensor& self, const Scalar& s, BinaryOp bop, DType rt, const Scalar& alpha,
                           bool scalar_first) {
  if (rt != self.dtype()) return store_result(self, binary_scalar_raw(op, bop, self, s, rt, alpha, scalar_first));
  run_inplace(op, self, {self}, [&](const ElementwiseIter& it) {
    binary_scalar_stub(self.device().type(), it, bop, s, alpha, scalar_first);
  });
}
}  // namespace ops

namespace {
const Tensor& add_inplace(const char* op, const char* node, const Tensor& self, const Tensor& b, const Scalar& alpha) {
  DType rt = result_type(self, b);
  ops::check_alpha(op, rt, alpha);
  bool track = ops::begin_inplace(op, self, {&b}, ops::broadcast_shape(op, self.sizes(), b.sizes()), rt);
  InputMeta ms(self), mb(b);
  ops::binary_inplace(op, self, b, BinaryOp::Add, rt, alpha);
  if (track)
    autograd::record(node, self, {self, b}, [ms, mb, alpha](const TensorList& g, const std::vector<bool>& need) {
      TensorList r(2);
      if (need[0]) r[0] = reduce_grad(g[0], ms.shape, ms.dtype);
      if (need[1]) r[1] = reduce_grad(ops::is_one(alpha) ? g[0] : mul(g[0], alpha), mb.shape, mb.dtype);
      return r;
    });
  return self;
}

// self = s + alpha*self for add_/sub_ with a Scalar (s already negated for sub_).
const Tensor& add_scalar_inplace(const char* op, const char* node, const Tensor& self, const Scalar& s) {
  DType rt = result_type(self, s);
  bool track = ops::begin_inplace(op, self, {}, self.sizes(), rt);
  InputMeta ms(self);
  ops::binary_scalar_inplace(op, self, s, BinaryOp::Add, rt, 1, true);
  if (track)
    autograd::record(node, self, {self}, [ms](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(g[0], ms.shape, ms.dtype)};
    });
  return self;
}
}  // namespace

const Tensor& add_(const Tensor& self, const Tensor& b, const Scalar& alpha) {
  return add_inplace("add_", "AddBackward0", self, b, alpha);
}
const Tensor& add_(const Tensor& self, const Scalar& b) { return add_scalar_inplace("add_", "AddBackward1", self, b); }

const Tensor& sub_(const Tensor& self, const Tensor& b, const Scalar& alpha) {
  ops::check_sub_dtypes("sub_", self.dtype(), b.dtype());
  return add_inplace("sub_", "SubBackward0", self, b, ops::negate(alpha));
}
const Tensor& sub_(const Tensor& self, const Scalar& b) {
  ops::check_sub_dtypes("sub_", self.dtype(), b.is_bool() ? kBool : kInt64);
  return add_scalar_inplace("sub_", "SubBackward1", self, ops::negate(b));
}

const Tensor& mul_(const Tensor& self, const Tensor& b) {
  DType rt = result_type(self, b);
  bool track = ops::begin_inplace("mul_", self, {&b}, ops::broadcast_shape("mul_", self.sizes(), b.sizes()), rt);
  InputMeta ms(self), mb(b);
  // b's gradient needs self's value before the write.
  Tensor old_self;
  if (track && b.requires_grad()) {
    NoGradGuard no_grad;
    old_self = clone(self);
  }
  SavedTensor sb = track ? ops::save_inplace_operand(b, self) : SavedTensor();
  ops::binary_inplace("mul_", self, b, BinaryOp::Mul, rt, 1);
  if (track)
    autograd::record("MulBackward0", self, {self, b},
                     [ms, mb, sb, old_self](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = reduce_grad(mul(g[0], sb.get()), ms.shape, ms.dtype);
                       if (need[1]) r[1] = reduce_grad(mul(g[0], old_self), mb.shape, mb.dtype);
                       return r;
                     });
  return self;
}

const Tensor& mul_(const Tensor& self, const Scalar& b) {
  DType rt = result_type(self, b);
  bool track = ops::begin_inplace("mul_", self, {}, self.sizes(), rt);
  InputMeta ms(self);
  ops::binary_scalar_inplace("mul_", self, b, BinaryOp::Mul, rt, 1, false);
  if (track)
    autograd::record("MulBackward1", self, {self}, [ms, b](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(mul(g[0], b), ms.shape, ms.dtype)};
    });
  return self;
}

const Tensor& div_(const Tensor& self, const Tensor& b) {
  // True division: an integer self cannot hold the float result (DTypeError), as in torch.
  DType rt = ops::floating_compute(result_type(self, b));
  bool track = ops::begin_inplace("div_", self, {&b}, ops::broadcast_shape("div_", self.sizes(), b.sizes()), rt);
  InputMeta ms(self), mb(b);
  SavedTensor sb = track ? ops::save_inplace_operand(b, self) : SavedTensor();
  ops::binary_inplace("div_", self, b, BinaryOp::Div, rt, 1);
  if (track) {
    ops::SavedOutput so(self);
    // The node itself: on a view, self.grad_fn() is a replay node that only the view holds (so.node is weak).
    auto node = autograd::record("DivBackward0", std::vector<Tensor>{self}, {self, b},
                                 [ms, mb, sb, so](const TensorList& g, const std::vector<bool>& need) {
                                   TensorList r(2);
                                   Tensor bv = sb.get();
                                   if (need[0]) r[0] = reduce_grad(div(g[0], bv), ms.shape, ms.dtype);
                                   // d(a/b)/db = -(a/b)/b = -out/b
                                   if (need[1])
                                     r[1] = reduce_grad(neg(mul(g[0], div(so.get(), bv))), mb.shape, mb.dtype);
                                   return r;
                                 });
    so.set_node(node);
  }
  return self;
}

const Tensor& div_(const Tensor& self, const Scalar& b) {
  DType rt = ops::floating_compute(result_type(self, b));
  bool track = ops::begin_inplace("div_", self, {}, self.sizes(), rt);
  InputMeta ms(self);
  ops::binary_scalar_inplace("div_", self, b, BinaryOp::Div, rt, 1, false);
  if (track)
    autograd::record("DivBackward1", self, {self}, [ms, b](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(div(g[0], b), ms.shape, ms.dtype)};
    });
  return self;
}
}  // namespace kiln
