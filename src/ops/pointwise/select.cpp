// Selection front end: clamp (and _min/_max), where (tensor and Scalar), masked_fill, cast, with gradients.
#include <limits>

#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/pointwise/clamp_bounds.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::InputMeta;
using ops::reduce_grad;

namespace ops {
Scalar clip_bound(const Scalar& s, DType t) {
  if (is_floating_point(t) || s.is_floating_point()) return s;
  int64_t lo = 0, hi = 1;
  switch (t) {
    case DType::UInt8:
      hi = 255;
      break;
    case DType::Int32:
      lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
      break;
    case DType::Int64:
      return s;
    default:
      break;
  }
  int64_t v = s.to_long();
  return Scalar(v < lo ? lo : v > hi ? hi : v);
}

ClampPlan plan_clamp(const char* op, const Tensor& a, const Scalar* lo, const Scalar* hi) {
  KILN_CHECK(lo || hi, op, ": at least one of min and max must be given");
  KILN_CHECK_DTYPE(a.dtype() != kBool, op, ": not supported for bool tensors");
  ResultType rt;
  rt.add(a);
  if (lo) rt.add(*lo);
  if (hi) rt.add(*hi);
  ClampPlan p;
  p.dtype = rt.get();
  KILN_CHECK_DTYPE(p.dtype != kBool, op, ": not supported for bool tensors");
  p.has_lo = lo != nullptr;
  p.has_hi = hi != nullptr;
  if (lo) p.lo = clip_bound(*lo, p.dtype);
  if (hi) p.hi = clip_bound(*hi, p.dtype);
  return p;
}

Tensor clamp_mask(const Tensor& x, const ClampPlan& p) {
  if (p.has_lo && p.has_hi) return logical_and(ge(x, p.lo), le(x, p.hi));
  return p.has_lo ? ge(x, p.lo) : le(x, p.hi);
}
}  // namespace ops

namespace {
Tensor clamp_impl(const char* op, const Tensor& a, const Scalar* lo, const Scalar* hi) {
  ops::ClampPlan p = ops::plan_clamp(op, a, lo, hi);
  Tensor x = ops::cast_for_kernel(a, p.dtype);
  Tensor out = ops::make_elementwise_output(a.sizes(), p.dtype, a.device(), {&a});
  if (out.numel() > 0) {
    auto it = ops::make_elementwise_iter(out, {x}, op);
    ops::clamp_stub(out.device().type(), it, p.lo, p.hi, p.has_lo, p.has_hi);
  }
  if (autograd::needs_grad({&a})) {
    // Gradient flows only where the input lies inside [lo, hi] (zero outside, as torch).
    autograd::record("ClampBackward1", out, {a},
                     [ma = InputMeta(a), sa = SavedTensor(a), p](const TensorList& g, const std::vector<bool>&) {
                       return TensorList{reduce_grad(where(ops::clamp_mask(sa.get(), p), g[0], 0), ma.shape, ma.dtype)};
                     });
  }
  return out;
}

Tensor check_mask(const char* op, const Tensor& mask) {
  KILN_CHECK_DTYPE(mask.dtype() == kBool, op, ": expected a bool condition/mask, got ", mask.dtype(),
                   "; build one with a comparison (e.g. x > 0) or .to(kBool)");
  return mask;
}
}  // namespace

Tensor clamp(const Tensor& a, const Scalar& lo, const Scalar& hi) { return clamp_impl("clamp", a, &lo, &hi); }
Tensor clamp_min(const Tensor& a, const Scalar& lo) { return clamp_impl("clamp_min", a, &lo, nullptr); }
Tensor clamp_max(const Tensor& a, const Scalar& hi) { return clamp_impl("clamp_max", a, nullptr, &hi); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_mask("where", cond);
  ops::check_same_device("where", {&cond, &a, &b});
  DType rt = result_type(a, b);
  Shape shape = ops::broadcast_shape("where", ops::broadcast_shape("where", cond.sizes(), a.sizes()), b.sizes());
  Tensor out = ops::make_elementwise_output(shape, rt, a.device(), {&cond, &a, &b});
  if (out.numel() > 0) {
    Tensor x = ops::cast_for_kernel(a, rt), y = ops::cast_for_kernel(b, rt);
    auto it = ops::make_elementwise_iter(out, {cond, x, y}, "where");
    ops::where_stub(out.device().type(), it);
  }
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("WhereBackward0", out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b), sc = SavedTensor(cond)](const TensorList& g,
                                                                                    const std::vector<bool>& need) {
                       TensorList r(2);
                       Tensor cond = sc.get();
                       if (need[0]) r[0] = reduce_grad(where(cond, g[0], 0), ma.shape, ma.dtype);
                       if (need[1]) r[1] = reduce_grad(masked_fill(g[0], cond, 0), mb.shape, mb.dtype);
                       return r;
                     });
  }
  return out;
}

namespace {
// out = cond == when ? value : a, broadcasting cond and a; a's gradient flows where the value was not taken.
Tensor select_scalar(const char* op, const char* node, const Tensor& cond, const Tensor& a, const Scalar& value,
                     bool when, DType dtype) {
  check_mask(op, cond);
  ops::check_same_device(op, {&cond, &a});
  Tensor out = ops::make_elementwise_output(ops::broadcast_shape(op, cond.sizes(), a.sizes()), dtype, a.device(), {&cond, &a});
  if (out.numel() > 0) {
    Tensor x = ops::cast_for_kernel(a, dtype);
    auto it = ops::make_elementwise_iter(out, {cond, x}, op);
    ops::select_scalar_stub(out.device().type(), it, value, when);
  }
  if (autograd::needs_grad({&a})) {
    autograd::record(node, out, {a},
                     [ma = InputMeta(a), sc = SavedTensor(cond), when](const TensorList& g, const std::vector<bool>&) {
                       Tensor cond = sc.get();
                       Tensor d = when ? masked_fill(g[0], cond, 0) : where(cond, g[0], 0);
                       return TensorList{reduce_grad(d, ma.shape, ma.dtype)};
                     });
  }
  return out;
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b) {
  return select_scalar("where", "WhereBackward1", cond, a, b, /*when=*/false, result_type(a, b));
}

Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b) {
  return select_scalar("where", "WhereBackward1", cond, b, a, /*when=*/true, result_type(b, a));
}

Tensor where(const Tensor& cond, const Scalar& a, const Scalar& b) {
  // Two numbers give torch's default dtypes: float32 if either is floating, bool if both are bools, else int64.
  DType rt = a.is_floating_point() || b.is_floating_point() ? default_float_dtype()
             : a.is_bool() && b.is_bool()                   ? kBool
                                                            : kInt64;
  check_mask("where", cond);
  return where(cond, a, full(cond.sizes(), b, TensorOptions(rt).device(cond.device())));
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, const Scalar& value) {
  // The result keeps a's dtype: the value is converted, as torch.
  return select_scalar("masked_fill", "MaskedFillBackward0", mask, a, value, /*when=*/true, a.dtype());
}

Tensor cast(const Tensor& a, DType dtype) { return a.dtype() == dtype ? a : to(a, a.device(), dtype); }
}  // namespace kiln
