// nn::functional regression and binary losses: mse, l1, smooth_l1, binary_cross_entropy (with logits).
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional.h"
#include "kiln/tensor/ops.h"
#include "nn/loss_util.h"
#include "ops/loss/fused_losses.h"
#include "ops/check/value_check.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln::nn {

Reduction parse_reduction(const std::string& s) {
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  if (s == "none") return Reduction::None;
  throw ValueError("reduction must be 'none', 'mean' or 'sum', got '" + s + "'");
}

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None: return "none";
    case Reduction::Sum: return "sum";
    default: return "mean";
  }
}

namespace functional {
Tensor apply_reduction(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return ::kiln::sum(loss);
    default: return ::kiln::mean(loss);
  }
}

namespace detail {
Tensor checked_target(const Tensor& input, const Tensor& target, const char* fn) {
  KILN_CHECK(input.defined() && target.defined(), fn, ": input and target must be defined tensors");
  KILN_CHECK_DTYPE(input.is_floating_point(), fn, ": input must be a floating-point tensor, got ", input.dtype());
  KILN_CHECK_SHAPE(input.sizes() == target.sizes(), fn, ": input shape ", input.shape_str(), " and target shape ",
                   target.shape_str(), " differ; reshape one of them (kiln does not broadcast loss arguments)");
  KILN_CHECK_DEVICE(input.device() == target.device(), fn, ": input is on ", input.device(), " but target is on ",
                    target.device());
  return target.to(input.dtype());  // differentiable: a float64 target still gets its gradient
}

Tensor checked_weight(const Tensor& input, const Tensor& weight, const char* fn, const char* what) {
  if (!weight.defined()) return weight;
  const Shape &w = weight.sizes(), &in = input.sizes();
  bool ok = w.size() <= in.size();
  for (size_t i = 0; ok && i < w.size(); ++i) {
    int64_t wd = w[w.size() - 1 - i], id = in[in.size() - 1 - i];
    ok = wd == id || wd == 1;
  }
  KILN_CHECK_SHAPE(ok, fn, ": ", what, " of shape ",
                   weight.shape_str(), " does not broadcast to the input shape ", input.shape_str());
  KILN_CHECK_DEVICE(input.device() == weight.device(), fn, ": input is on ", input.device(), " but ", what,
                    " is on ", weight.device());
  return weight.to(input.dtype());
}
}  // namespace detail

Tensor mse_loss(const Tensor& input, const Tensor& target, ReductionArg reduction) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target}})
    return mse_loss(c[0], c[1], reduction);
  Tensor t = detail::checked_target(input, target, "mse_loss");
  if (ops::fused_mse_fits(input, static_cast<Reduction>(reduction)))
    return ops::fused_mse_loss(input, t, static_cast<Reduction>(reduction));
  Tensor d = sub(input, t);
  return apply_reduction(mul(d, d), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, ReductionArg reduction) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target}})
    return l1_loss(c[0], c[1], reduction);
  Tensor t = detail::checked_target(input, target, "l1_loss");
  return apply_reduction(abs(sub(input, t)), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, ReductionArg reduction, double beta) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target}})
    return smooth_l1_loss(c[0], c[1], reduction, beta);
  KILN_CHECK(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta);
  Tensor t = detail::checked_target(input, target, "smooth_l1_loss");
  Tensor d = abs(sub(input, t));
  if (beta == 0) return apply_reduction(d, reduction);
  Tensor quadratic = mul(mul(d, d), 0.5 / beta);
  Tensor linear_part = sub(d, 0.5 * beta);
  return apply_reduction(where(lt(d, beta), quadratic, linear_part), reduction);
}

namespace {
// log(1 - x) and log(x) clamped at -100 as torch does, so a saturated probability gives a finite loss.
Tensor clamped_log(const Tensor& x) { return clamp_min(log(x), -100.0); }
Tensor clamped_log1m(const Tensor& x) { return clamp_min(log(rsub(x, 1.0)), -100.0); }
// -(t log x + (1 - t) log(1 - x)).
Tensor bce_terms(const Tensor& x, const Tensor& t) {
  return neg(add(mul(t, clamped_log(x)), mul(rsub(t, 1.0), clamped_log1m(x))));
}
// softplus(-x) = log(1 + exp(-x)), without overflow for large |x|.
Tensor softplus_neg(const Tensor& x) { return add(log1p(exp(neg(abs(x)))), clamp_min(neg(x), 0.0)); }
}  // namespace

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, ReductionArg reduction) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target, &weight}})
    return binary_cross_entropy(c[0], c[1], c[2], reduction);
  Tensor t = detail::checked_target(input, target, "binary_cross_entropy");
  Tensor w = detail::checked_weight(input, weight, "binary_cross_entropy", "weight");
  {
    // No host wait: on CUDA a device-side check reports a bad input at the next synchronisation.
    ops::CheckFailure failure;
    failure.kind = ops::CheckKind::Probability;
    failure.op = "binary_cross_entropy";
    ops::check_values(input, ops::ValueRule::float_range(0.0, 1.0), failure);
  }
  Tensor loss;
  {
    NoGradGuard no_grad;
    loss = bce_terms(input, t);
    if (w.defined()) loss = mul(loss, w);
  }
  // A hand-written backward: d/dx = (x - t) / max(x (1 - x), 1e-12) stays finite where a sigmoid saturated
  // to exactly 0 or 1, where differentiating the clamped logs would give 0 * inf = NaN.
  if (autograd::needs_grad({&input, &t, &w})) {
    Shape w_shape = w.defined() ? w.sizes() : Shape{};
    autograd::record(
        "BinaryCrossEntropyBackward0", loss, {input, t, w},
        [sx = autograd::SavedTensor(input), st = autograd::SavedTensor(t), sw = autograd::SavedTensor(w),
         w_shape](const autograd::TensorList& g, const std::vector<bool>& need) {
          Tensor x = sx.get(), tt = st.get(), ww = sw.get();
          Tensor gw = ww.defined() ? mul(g[0], ww) : g[0];
          autograd::TensorList r(3);
          // torch clamps with its float constant 1e-12f (= 9.99999996e-13), used here too so the values match.
          if (need[0]) r[0] = mul(gw, div(sub(x, tt), clamp_min(mul(rsub(x, 1.0), x), static_cast<double>(1e-12f))));
          if (need[1]) r[1] = mul(gw, sub(clamped_log1m(x), clamped_log(x)));
          if (need[2]) r[2] = sum_to(mul(g[0], bce_terms(x, tt)), w_shape);
          return r;
        });
  }
  return apply_reduction(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        ReductionArg reduction, const Tensor& pos_weight) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input, &target, &weight, &pos_weight}})
    return binary_cross_entropy_with_logits(c[0], c[1], c[2], reduction, c[3]);
  const char* fn = "binary_cross_entropy_with_logits";
  Tensor t = detail::checked_target(input, target, fn);
  Tensor w = detail::checked_weight(input, weight, fn, "weight");
  Tensor pw = detail::checked_weight(input, pos_weight, fn, "pos_weight");
  // loss = (1 - t) x + lw softplus(-x), lw = 1 + (pos_weight - 1) t: the stable form torch uses.
  auto forward = [](const Tensor& x, const Tensor& tt, const Tensor& pwt) {
    Tensor sp = softplus_neg(x);
    Tensor lw = pwt.defined() ? add(mul(sub(pwt, 1.0), tt), 1.0) : Tensor();
    return add(mul(rsub(tt, 1.0), x), lw.defined() ? mul(lw, sp) : sp);
  };
  Tensor loss;
  {
    NoGradGuard no_grad;
    loss = forward(input, t, pw);
    if (w.defined()) loss = mul(loss, w);
  }
  // Hand-written backward: d/dx = lw (sigmoid(x) - 1) + 1 - t (= sigmoid(x) - t without pos_weight), exact at
  // x = 0, where differentiating |x| and max(-x, 0) piecewise would not be.
  if (autograd::needs_grad({&input, &t, &w, &pw})) {
    Shape w_shape = w.defined() ? w.sizes() : Shape{}, pw_shape = pw.defined() ? pw.sizes() : Shape{};
    autograd::record(
        "BinaryCrossEntropyWithLogitsBackward0", loss, {input, t, w, pw},
        [sx = autograd::SavedTensor(input), st = autograd::SavedTensor(t), sw = autograd::SavedTensor(w),
         spw = autograd::SavedTensor(pw), w_shape, pw_shape, forward](const autograd::TensorList& g,
                                                                      const std::vector<bool>& need) {
          Tensor x = sx.get(), tt = st.get(), ww = sw.get(), p = spw.get();
          Tensor gw = ww.defined() ? mul(g[0], ww) : g[0];
          autograd::TensorList r(4);
          if (need[0]) {
            Tensor s = ::kiln::sigmoid(x);
            r[0] = p.defined() ? mul(gw, add(mul(add(mul(sub(p, 1.0), tt), 1.0), sub(s, 1.0)), rsub(tt, 1.0)))
                               : mul(gw, sub(s, tt));
          }
          if (need[1]) {
            Tensor d = p.defined() ? add(neg(x), mul(sub(p, 1.0), softplus_neg(x))) : neg(x);
            r[1] = mul(gw, d);
          }
          if (need[2]) r[2] = sum_to(mul(g[0], forward(x, tt, p)), w_shape);
          if (need[3]) r[3] = sum_to(mul(gw, mul(tt, softplus_neg(x))), pw_shape);
          return r;
        });
  }
  return apply_reduction(loss, reduction);
}
}  // namespace functional
}  // namespace kiln::nn
