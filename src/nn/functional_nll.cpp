// nn::functional classification losses: nll_loss and cross_entropy (log_softmax once + gather, no one-hot).
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional.h"
#include "kiln/tensor/ops.h"
#include "nn/loss_util.h"
#include "ops/check/value_check.h"
#include "ops/loss/fused_losses.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln::nn::functional {
namespace {
int64_t class_dim_of(const Tensor& input) { return input.dim() == 1 ? 0 : 1; }

Shape without_class_dim(const Tensor& input) {
  Shape s = input.sizes();
  s.erase(s.begin() + class_dim_of(input));
  return s;
}

void check_input(const Tensor& input, const char* fn) {
  KILN_CHECK(input.defined(), fn, ": input is an undefined tensor");
  KILN_CHECK_DTYPE(input.is_floating_point(), fn, ": input must be a floating-point tensor of scores, got ",
                   input.dtype());
  KILN_CHECK_SHAPE(input.dim() >= 1, fn, ": input must be [C], [N, C] or [N, C, d1, ...], got a 0-dim tensor");
}

// Class-index targets: int64/int32 with the input's shape minus the class dim.
void check_index_target(const Tensor& input, const Tensor& target, const char* fn) {
  KILN_CHECK(target.defined(), fn, ": target is an undefined tensor");
  KILN_CHECK_DTYPE(target.dtype() == kInt64 || target.dtype() == kInt32, fn,
                   ": class-index targets must be int64 (or int32), got ", target.dtype());
  Shape expected = without_class_dim(input);
  KILN_CHECK_SHAPE(target.sizes() == expected, fn, ": target shape ", target.shape_str(), " does not match input shape ",
                   input.shape_str(), " (class-index targets must have shape ", shape_to_string(expected), ")");
  KILN_CHECK_DEVICE(target.device() == input.device(), fn, ": input is on ", input.device(), " but target is on ",
                    target.device());
}

Tensor checked_class_weight(const Tensor& input, const Tensor& weight, DType dtype, const char* fn) {
  if (!weight.defined()) return weight;
  int64_t C = input.size(class_dim_of(input));
  KILN_CHECK_SHAPE(weight.dim() == 1 && weight.size(0) == C, fn, ": class weight of shape ", weight.shape_str(),
                   " does not match the ", C, " classes of input shape ", input.shape_str());
  KILN_CHECK_DEVICE(weight.device() == input.device(), fn, ": input is on ", input.device(), " but weight is on ",
                    weight.device());
  return weight.to(dtype);
}

// Targets must be class indices or ignore_index. No host wait: on CUDA a device-side check reports a bad
// target at the next synchronisation (ops/check/value_check.h).
void check_target_range(const Tensor& target, int64_t C, int64_t ignore_index, const char* fn) {
  ops::CheckFailure failure;
  failure.kind = ops::CheckKind::ClassTarget;
  failure.op = fn;
  failure.arg0 = C;
  failure.arg1 = ignore_index;
  ops::check_values(target, ops::ValueRule::int_range(0, C - 1).or_equal(ignore_index), failure);
}

// Per-target pieces for log-probabilities logp [N, C, d...] and targets [N, d...]:
// nll = -w[t] logp[t] (0 where ignored) and w = w[t] (0 where ignored), the Mean denominator.
struct Picked {
  Tensor nll, w, valid;
};
Picked pick(const Tensor& logp, const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  Tensor t = target.to(kInt64);
  Tensor ignored = eq(t, ignore_index);
  Tensor safe = masked_fill(t, ignored, 0);  // gather needs an in-range index even where the target is ignored
  Tensor picked = gather(logp, 1, safe.unsqueeze(1)).squeeze(1);
  Picked p;
  p.valid = logical_not(ignored).to(logp.dtype());
  p.w = weight.defined() ? mul(index_select(weight, 0, safe.reshape({-1})).view(t.sizes()), p.valid) : p.valid;
  p.nll = neg(mul(picked, p.w));
  return p;
}

Tensor reduce_weighted(const Tensor& per, const Tensor& w, Reduction r) {
  switch (r) {
    case Reduction::None: return per;
    case Reduction::Sum: return sum(per);
    default: {
      // torch: divide by the summed weights of non-ignored targets. When every target is ignored the loss is
      // NaN (0/0) but the gradient is 0, so the NaN is added as a constant instead of flowing through the division.
      Tensor total = sum(w);
      Tensor none_left = eq(total, 0.0);
      Tensor safe = where(none_left, ones_like(total), total);
      return add(div(sum(per), safe), where(none_left, full_like(total, NAN), zeros_like(total)));
    }
  }
}

// Reduced-precision scores compute in float32 (log_softmax's range); the loss is cast back at the end.
DType compute_dtype(DType t) { return is_reduced_float(t) ? kFloat32 : t; }
}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                ReductionArg reduction) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target, &weight}})
    return nll_loss(c[0], c[1], c[2], ignore_index, reduction);
  const char* fn = "nll_loss";
  check_input(input, fn);
  check_index_target(input, target, fn);
  int64_t C = input.size(class_dim_of(input));
  check_target_range(target, C, ignore_index, fn);
  DType dt = compute_dtype(input.dtype());
  Tensor w = checked_class_weight(input, weight, dt, fn);
  bool single = input.dim() == 1;
  Tensor x = input.to(dt), t = target;
  if (single) {
    x = x.unsqueeze(0);
    t = t.unsqueeze(0);
  }
  Picked p = pick(x, t, w, ignore_index);
  Tensor per = single ? p.nll.squeeze(0) : p.nll;
  return reduce_weighted(per, p.w, reduction).to(input.dtype());
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     ReductionArg reduction, double label_smoothing) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target, &weight}})
    return cross_entropy(c[0], c[1], c[2], ignore_index, reduction, label_smoothing);
  const char* fn = "cross_entropy";
  check_input(input, fn);
  KILN_CHECK(target.defined(), fn, ": target is an undefined tensor");
  KILN_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, fn, ": label_smoothing must be in [0, 1], got ",
             label_smoothing);
  int64_t cdim = class_dim_of(input);
  int64_t C = input.size(cdim);
  DType dt = compute_dtype(input.dtype());
  Tensor w = checked_class_weight(input, weight, dt, fn);
  double ls = label_smoothing;
  // weight viewed as [1, C, 1, ...] (or [C]) to scale the class dim.
  Shape wshape(static_cast<size_t>(input.dim()), 1);
  wshape[static_cast<size_t>(cdim)] = C;

  if (target.is_floating_point()) {
    if (target.sizes() != input.sizes()) {
      KILN_CHECK_DTYPE(target.sizes() != without_class_dim(input), fn, ": target of dtype ", target.dtype(),
                       " and shape ", target.shape_str(), " looks like class indices, which must be int64 (use ",
                       "target.to(kInt64)); probability targets must have the input's shape ", input.shape_str());
      throw ShapeError(::kiln::detail::str(fn, ": target shape ", target.shape_str(), " does not match input shape ",
                                           input.shape_str(), " (expected class indices of shape ",
                                           shape_to_string(without_class_dim(input)),
                                           " or probabilities of the input's shape)"));
    }
    KILN_CHECK_DEVICE(target.device() == input.device(), fn, ": input is on ", input.device(), " but target is on ",
                      target.device());
    Tensor logp = ::kiln::log_softmax(input.to(dt), cdim);
    Tensor t = target.to(dt);
    if (ls > 0) t = add(mul(t, 1.0 - ls), ls / static_cast<double>(C));
    Tensor prod = mul(logp, t);
    if (w.defined()) prod = mul(prod, w.view(wshape));
    Tensor per = neg(sum(prod, {cdim}));
    Tensor out;
    switch (static_cast<Reduction>(reduction)) {
      case Reduction::None: out = per; break;
      case Reduction::Sum: out = sum(per); break;
      default: out = div(sum(per), static_cast<double>(per.numel()));  // torch: mean over the batch elements
    }
    return out.to(input.dtype());
  }

  check_index_target(input, target, fn);
  check_target_range(target, C, ignore_index, fn);
  if (ops::fused_cross_entropy_fits(input, weight))
    return ops::fused_cross_entropy(input.to(dt), target, w, ignore_index, static_cast<Reduction>(reduction), ls)
        .to(input.dtype());
  bool single = input.dim() == 1;
  Tensor logp = ::kiln::log_softmax(input.to(dt), cdim);
  Tensor t = target;
  if (single) {
    logp = logp.unsqueeze(0);
    t = t.unsqueeze(0);
    wshape.insert(wshape.begin(), 1);
  }
  Picked p = pick(logp, t, w, ignore_index);
  Tensor per = p.nll;
  if (ls > 0) {
    // torch's label smoothing: (1 - ls) * nll + ls / C * sum_c -w_c logp_c, zero where ignored.
    Tensor scaled = w.defined() ? mul(logp, w.view(wshape)) : logp;
    Tensor smooth = mul(neg(sum(scaled, {1})), p.valid);
    per = add(mul(per, 1.0 - ls), mul(smooth, ls / static_cast<double>(C)));
  }
  if (single) per = per.squeeze(0);
  return reduce_weighted(per, p.w, reduction).to(input.dtype());
}
}  // namespace kiln::nn::functional
