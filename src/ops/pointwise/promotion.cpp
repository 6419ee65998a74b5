// Type promotion (torch.result_type), broadcasting and the shared launch helpers of the pointwise family;
// also defines the family's dispatch stubs.
#include <optional>

#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/ops/view.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(binary_stub);
KILN_DEFINE_DISPATCH(binary_scalar_stub);
KILN_DEFINE_DISPATCH(compare_stub);
KILN_DEFINE_DISPATCH(compare_scalar_stub);
KILN_DEFINE_DISPATCH(logical_stub);
KILN_DEFINE_DISPATCH(unary_stub);
KILN_DEFINE_DISPATCH(unary_backward_stub);
KILN_DEFINE_DISPATCH(float_class_stub);
KILN_DEFINE_DISPATCH(clamp_stub);
KILN_DEFINE_DISPATCH(where_stub);
KILN_DEFINE_DISPATCH(select_scalar_stub);
KILN_DEFINE_DISPATCH(ternary_stub);
KILN_DEFINE_DISPATCH(isclose_stub);

bool can_cast(DType from, DType to) {
  if (is_floating_point(from) && !is_floating_point(to)) return false;
  if (from != DType::Bool && to == DType::Bool) return false;
  return true;
}

namespace {
std::optional<DType> promote_slot(std::optional<DType> slot, DType t) {
  return slot ? promote_types(*slot, t) : t;
}
// torch's combine_categories: the lower-priority type only counts when it is of a higher category.
std::optional<DType> combine_categories(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (is_floating_point(*higher)) return higher;
  if (*higher == DType::Bool || is_floating_point(*lower)) return promote_types(*higher, *lower);
  return higher;
}
}  // namespace

ResultType& ResultType::add(const Tensor& t) {
  if (t.dim() == 0)
    zero_ = promote_slot(zero_, t.dtype());
  else
    dim_ = promote_slot(dim_, t.dtype());
  return *this;
}
ResultType& ResultType::add(const Scalar& s) {
  wrapped_ = promote_slot(wrapped_, s.dtype());  // a float Scalar counts as the default float32
  return *this;
}
DType ResultType::get() const {
  return combine_categories(dim_, combine_categories(zero_, wrapped_)).value_or(default_float_dtype());
}

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  if (a == b) return a;
  try {
    return broadcast_shapes(a, b);
  } catch (const ShapeError& e) {
    throw ShapeError(std::string(op) + ": " + e.what());
  }
}

Tensor cast_for_kernel(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  NoGradGuard no_grad;
  return to(t, t.device(), dtype);
}

Tensor unalias_input(const Tensor& self, const Tensor& input) {
  if (input.storage() != self.storage()) return input;
  if (input.data_ptr() == self.data_ptr() && input.strides() == self.strides() && input.sizes() == self.sizes())
    return input;  // exactly the same elements: element i is read before it is written
  NoGradGuard no_grad;
  return clone(input);
}

void check_inplace_result(const char* op, const Tensor& self, const Shape& result_shape, DType result_dtype) {
  KILN_CHECK_SHAPE(result_shape == self.sizes(), op, ": output with shape ", shape_to_string(self.sizes()),
                   " doesn't match the broadcast shape ", shape_to_string(result_shape),
                   "; an in-place op cannot grow self, use the out-of-place op instead");
  KILN_CHECK_DTYPE(can_cast(result_dtype, self.dtype()), op, ": result type ", dtype_info(result_dtype).torch_name,
                   " can't be cast to the desired output type ", dtype_info(self.dtype()).torch_name,
                   "; use the out-of-place op or convert self first (e.g. self.to(kFloat32))");
}

Scalar negate(const Scalar& s) {
  if (s.is_floating_point()) return Scalar(-s.to_double());
  return Scalar(-s.to_long());
}

void check_alpha(const char* op, DType t, const Scalar& alpha) {
  KILN_CHECK_DTYPE(!alpha.is_bool() || t == kBool, op, ": boolean alpha only supported for boolean results, got a ",
                   dtype_name(t), " result");
  KILN_CHECK_DTYPE(is_floating_point(t) || !alpha.is_floating_point(), op, ": for integral input tensors (",
                   dtype_name(t), "), argument alpha must not be a floating point number (got ", alpha, ")");
}

void check_sub_dtypes(const char* op, DType a, DType b) {
  KILN_CHECK_DTYPE(!(a == kBool && b == kBool), op,
                   ": subtraction with two bool tensors is not supported; use logical_xor() instead");
  KILN_CHECK_DTYPE(a != kBool && b != kBool, op,
                   ": subtraction with a bool tensor is not supported; to invert a mask use logical_not()");
}

void check_not_bool(const char* op, DType t, const char* advice) {
  KILN_CHECK_DTYPE(t != DType::Bool, op, ": not supported for bool tensors. ", advice);
}

Tensor binary_raw(const char* name, BinaryOp op, const Tensor& a, const Tensor& b, DType compute, const Scalar& alpha) {
  check_same_device(name, {&a, &b});
  Tensor out = make_elementwise_output(broadcast_shape(name, a.sizes(), b.sizes()), compute, a.device(), {&a, &b});
  if (out.numel() == 0) return out;
  Tensor ca = cast_for_kernel(a, compute), cb = cast_for_kernel(b, compute);  // alive until the kernel ran
  auto it = make_elementwise_iter(out, {ca, cb}, name);
  binary_stub(out.device().type(), it, op, alpha);
  return out;
}

Tensor binary_scalar_raw(const char* name, BinaryOp op, const Tensor& a, const Scalar& s, DType compute,
                         const Scalar& alpha, bool scalar_first) {
  Tensor out = make_elementwise_output(a.sizes(), compute, a.device(), {&a});
  if (out.numel() == 0) return out;
  Tensor ca = cast_for_kernel(a, compute);
  auto it = make_elementwise_iter(out, {ca}, name);
  binary_scalar_stub(out.device().type(), it, op, s, alpha, scalar_first);
  return out;
}

Tensor unary_raw(UnaryOp op, const Tensor& a, double p0, double p1) {
  Tensor out = make_elementwise_output(a.sizes(), a.dtype(), a.device(), {&a});
  if (out.numel() == 0) return out;
  auto it = make_elementwise_iter(out, {a}, "unary");
  unary_stub(out.device().type(), it, op, p0, p1);
  return out;
}

Tensor unary_backward_raw(UnaryBackwardOp op, const Tensor& g, const Tensor& v, double p0, double p1) {
  DType dt = promote_types(g.dtype(), v.dtype());
  Tensor out = make_elementwise_output(broadcast_shape("backward", g.sizes(), v.sizes()), dt, v.device(), {&g, &v});
  if (out.numel() == 0) return out;
  Tensor cg = cast_for_kernel(g, dt), cv = cast_for_kernel(v, dt);
  auto it = make_elementwise_iter(out, {cg, cv}, "backward");
  unary_backward_stub(out.device().type(), it, op, p0, p1);
  return out;
}

void run_inplace(const char* name, const Tensor& self, const std::vector<Tensor>& inputs,
                 const std::function<void(const ElementwiseIter&)>& launch) {
  if (self.numel() == 0) return;
  std::vector<Tensor> safe;  // kept alive until the kernel has run
  safe.reserve(inputs.size());
  for (auto& t : inputs) safe.push_back(unalias_input(self, t));
  launch(make_elementwise_iter(self, safe, name));
  // begin_inplace bumped the version before the write; bump again after it, so that an operand saved in
  // between that aliases self (y.mul_(y)) is seen as modified at backward instead of giving a wrong gradient.
  self.storage()->bump_version();
}

Tensor SavedOutput::get() const {
  Tensor y = saved_.get();
  std::shared_ptr<autograd::Node> node = node_ ? node_->lock() : nullptr;
  if (!node || !autograd::grad_mode_enabled()) return y;
  Tensor v = make_view(y, y.sizes(), y.strides(), y.storage_offset());
  autograd::AutogradMeta& m = autograd::meta(v);
  m.grad_fn = node;
  m.output_nr = output_nr_;
  return v;
}

Tensor reduce_grad(const Tensor& g, const Shape& shape, DType dtype) {
  if (!g.defined()) return g;
  Tensor r = g.sizes() == shape ? g : sum_to(g, shape);
  if (r.dtype() != dtype) r = to(r, r.device(), dtype);
  return r;
}
}  // namespace ops

DType result_type(const Tensor& a, const Tensor& b) { return ops::ResultType().add(a).add(b).get(); }
DType result_type(const Tensor& a, const Scalar& b) { return ops::ResultType().add(a).add(b).get(); }
}  // namespace kiln
