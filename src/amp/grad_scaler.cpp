// amp::GradScaler: the loss-scaling state machine of torch.amp.GradScaler over kiln's fused amp kernels.
#include "kiln/amp/grad_scaler.h"

#include <cmath>
#include <string>
#include <utility>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/amp/amp_ops.h"

namespace kiln::amp {
namespace {
void check_options(const GradScalerOptions& o) {
  KILN_CHECK(std::isfinite(o.init_scale()) && o.init_scale() > 0,
             "GradScaler: init_scale must be positive and finite, got ", o.init_scale());
  KILN_CHECK(o.growth_factor() > 1.0, "GradScaler: growth_factor must be greater than 1, got ", o.growth_factor());
  KILN_CHECK(o.backoff_factor() > 0.0 && o.backoff_factor() < 1.0,
             "GradScaler: backoff_factor must lie in (0, 1), got ", o.backoff_factor());
  KILN_CHECK(o.growth_interval() > 0 && o.growth_interval() <= INT32_MAX,
             "GradScaler: growth_interval must be a positive int32, got ", o.growth_interval());
}

double number(const StateDict& state, const char* key) {
  auto it = state.find(key);
  KILN_CHECK(it != state.end(), "GradScaler::load_state_dict: missing key '", key,
             "' (expected scale, growth_factor, backoff_factor, growth_interval, _growth_tracker)");
  KILN_CHECK(it->second.defined() && it->second.numel() == 1, "GradScaler::load_state_dict: '", key,
             "' must hold one number");
  return it->second.to(kCPU).to(kFloat64).item<double>();
}
}  // namespace

GradScaler::GradScaler(GradScalerOptions options) : options_(options) { check_options(options_); }

void GradScaler::ensure_scale(Device device) {
  if (scale_.defined()) return;
  scale_ = full({}, options_.init_scale(), TensorOptions(kFloat32).device(device));
  growth_tracker_ = full({}, init_growth_tracker_, TensorOptions(kInt32).device(device));
}

void GradScaler::check_started(const char* method) const {
  KILN_CHECK(scale_.defined(), "GradScaler::", method,
             ": no scale yet; call scaler.scale(loss) and backward on it earlier in the iteration");
}

Tensor GradScaler::scale(const Tensor& outputs) {
  if (!is_enabled()) return outputs;
  KILN_CHECK(outputs.defined(), "GradScaler::scale: the output is undefined");
  KILN_CHECK_DTYPE(is_floating_point(outputs.dtype()), "GradScaler::scale: the output has dtype ",
                   dtype_name(outputs.dtype()), "; only floating outputs (a loss) can be scaled");
  ensure_scale(outputs.device());
  return outputs * (outputs.device() == scale_.device() ? scale_ : scale_.to(outputs.device(), /*non_blocking=*/true));
}

std::vector<Tensor> GradScaler::scale(const std::vector<Tensor>& outputs) {
  std::vector<Tensor> scaled;
  scaled.reserve(outputs.size());
  for (const Tensor& o : outputs) scaled.push_back(scale(o));
  return scaled;
}

void GradScaler::unscale_(optim::Optimizer& optimizer) {
  if (!is_enabled()) return;
  check_started("unscale_");
  OptimizerRecord& record = records_[&optimizer];
  KILN_CHECK(record.stage != Stage::Unscaled,
             "GradScaler::unscale_: already called on this optimizer since the last update()");
  KILN_CHECK(record.stage != Stage::Stepped, "GradScaler::unscale_: called after step() (call update() first)");
  NoGradGuard no_grad;
  // Divide in double, then round once to float32, as torch does.
  const Tensor inv_scale = scale_.to(kFloat64).reciprocal().to(kFloat32);
  std::vector<std::pair<Device, std::vector<Tensor>>> by_device;
  for (const optim::ParamGroup& group : optimizer.param_groups()) {
    for (const Tensor& p : group.params()) {
      const Tensor& g = p.grad();
      if (!g.defined()) continue;
      KILN_CHECK_DTYPE(g.dtype() != kFloat16, "GradScaler::unscale_: a gradient is float16; keep the parameters in "
                       "float32 (autocast casts them for the forward) so the unscaled gradients do not overflow");
      auto it = by_device.begin();
      while (it != by_device.end() && it->first != g.device()) ++it;
      if (it == by_device.end()) it = by_device.insert(by_device.end(), {g.device(), {}});
      it->second.push_back(g);
    }
  }
  for (auto& [device, grads] : by_device) {
    Tensor found_inf = zeros({}, TensorOptions(kFloat32).device(device));
    Tensor inv = device == inv_scale.device() ? inv_scale : inv_scale.to(device, /*non_blocking=*/true);
    ops::amp_non_finite_check_and_unscale_(grads, found_inf, inv);
    record.found_inf.emplace_back(device, found_inf);
  }
  record.stage = Stage::Unscaled;
}

bool GradScaler::step(optim::Optimizer& optimizer) {
  if (!is_enabled()) {
    optimizer.step();
    return true;
  }
  check_started("step");
  KILN_CHECK(records_[&optimizer].stage != Stage::Stepped,
             "GradScaler::step: already called on this optimizer since the last update()");
  if (records_[&optimizer].stage == Stage::Ready) unscale_(optimizer);
  OptimizerRecord& record = records_[&optimizer];
  KILN_CHECK(!record.found_inf.empty(), "GradScaler::step: the optimizer has no gradients to check (call "
             "scaler.scale(loss).backward() before step)");
  bool overflow = false;
  for (const auto& [device, flag] : record.found_inf) overflow = overflow || flag.item<float>() != 0.f;  // the one wait
  record.stage = Stage::Stepped;
  if (overflow) return false;
  optimizer.step();
  return true;
}

void GradScaler::update(std::optional<double> new_scale) {
  if (!is_enabled()) return;
  check_started("update");
  NoGradGuard no_grad;
  if (new_scale) {
    KILN_CHECK(std::isfinite(*new_scale) && *new_scale > 0,
               "GradScaler::update: new_scale must be positive and finite, got ", *new_scale);
    fill_(scale_, *new_scale);
  } else {
    Tensor combined;
    for (const auto& [opt, record] : records_) {
      for (const auto& [device, flag] : record.found_inf) {
        Tensor here = device == scale_.device() ? flag : flag.to(scale_.device(), /*non_blocking=*/true);
        combined = combined.defined() ? combined + here : here;
      }
    }
    KILN_CHECK(combined.defined(), "GradScaler::update: no inf checks were recorded since the last update() (call "
               "step() or unscale_() on an optimizer first)");
    ops::ScaleUpdate rule{options_.growth_factor(), options_.backoff_factor(), options_.growth_interval()};
    ops::amp_update_scale_(scale_, growth_tracker_, combined, rule);
  }
  records_.clear();
}

double GradScaler::get_scale() const {
  if (!is_enabled()) return 1.0;
  return scale_.defined() ? scale_.item<float>() : options_.init_scale();
}

void GradScaler::set_growth_factor(double v) {
  GradScalerOptions o = options_;
  o.growth_factor(v);
  check_options(o);
  options_ = o;
}
void GradScaler::set_backoff_factor(double v) {
  GradScalerOptions o = options_;
  o.backoff_factor(v);
  check_options(o);
  options_ = o;
}
void GradScaler::set_growth_interval(int64_t v) {
  GradScalerOptions o = options_;
  o.growth_interval(v);
  check_options(o);
  options_ = o;
}

StateDict GradScaler::state_dict() const {
  if (!is_enabled()) return {};
  return {{"scale", scalar_tensor(get_scale(), kFloat64)},
          {"growth_factor", scalar_tensor(options_.growth_factor(), kFloat64)},
          {"backoff_factor", scalar_tensor(options_.backoff_factor(), kFloat64)},
          {"growth_interval", scalar_tensor(options_.growth_interval(), kInt64)},
          {"_growth_tracker",
           scalar_tensor(growth_tracker_.defined() ? growth_tracker_.to(kCPU).item<int32_t>() : init_growth_tracker_,
                         kInt64)}};
}

void GradScaler::load_state_dict(const StateDict& state) {
  if (!is_enabled()) return;
  KILN_CHECK(!state.empty(), "GradScaler::load_state_dict: the state dict is empty, possibly because it was saved "
             "from a disabled GradScaler");
  GradScalerOptions o = options_;
  o.init_scale(number(state, "scale"));
  o.growth_factor(number(state, "growth_factor"));
  o.backoff_factor(number(state, "backoff_factor"));
  const double interval = number(state, "growth_interval");
  const double tracker = number(state, "_growth_tracker");
  KILN_CHECK(interval == std::floor(interval) && tracker == std::floor(tracker) && tracker >= 0 && tracker < interval,
             "GradScaler::load_state_dict: growth_interval and _growth_tracker must be whole numbers with "
             "0 <= _growth_tracker < growth_interval, got ", interval, " and ", tracker);
  o.growth_interval(static_cast<int64_t>(interval));
  check_options(o);
  options_ = o;
  if (scale_.defined()) {
    NoGradGuard no_grad;
    fill_(scale_, o.init_scale());
    fill_(growth_tracker_, static_cast<int64_t>(tracker));
  } else {
    init_growth_tracker_ = static_cast<int32_t>(tracker);
  }
}
}  // namespace kiln::amp
