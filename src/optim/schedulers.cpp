// LRScheduler base and the closed-schedule schedulers (StepLR, MultiStepLR, ExponentialLR,
// CosineAnnealingLR, LinearLR), in PyTorch's chainable form so the values match torch to the last bit.
#include "kiln/optim/schedulers.h"

#include <algorithm>
#include <cmath>

#include "kiln/tensor/ops/creation.h"

namespace kiln::optim {
namespace {
constexpr double kPi = 3.141592653589793;  // Python's math.pi

// Python's a % b (the sign of b), which torch's cosine restart test relies on.
int64_t py_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

const Tensor& entry(const StateDict& sd, const std::string& key) {
  auto it = sd.find(key);
  KILN_CHECK(it != sd.end(), "LRScheduler.load_state_dict: missing key '", key,
             "' (expected last_epoch, step_count, base_lrs, last_lr)");
  return it->second;
}
}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (ParamGroup& g : optimizer_.param_groups()) {
    if (!g.has_initial_lr()) g.set_initial_lr(g.options().get_lr());
    base_lrs_.push_back(g.initial_lr());
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& g : optimizer_.param_groups()) lrs.push_back(g.options().get_lr());
  return lrs;
}

void LRScheduler::step() {
  auto& groups = optimizer_.param_groups();
  KILN_CHECK(groups.size() == base_lrs_.size(), "LRScheduler: the optimizer has ", groups.size(),
             " parameter groups but the scheduler was made for ", base_lrs_.size(),
             "; make the scheduler after adding every group");
  ++step_count_;
  ++last_epoch_;
  std::vector<double> lrs = get_lr();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
  last_lr_ = group_lrs();
}

StateDict LRScheduler::state_dict() const {
  StateDict sd;
  sd["last_epoch"] = scalar_tensor(last_epoch_, TensorOptions(kInt64));
  sd["step_count"] = scalar_tensor(step_count_, TensorOptions(kInt64));
  sd["base_lrs"] = tensor(base_lrs_, Shape{static_cast<int64_t>(base_lrs_.size())}, TensorOptions(kFloat64));
  sd["last_lr"] = tensor(last_lr_, Shape{static_cast<int64_t>(last_lr_.size())}, TensorOptions(kFloat64));
  return sd;
}

void LRScheduler::load_state_dict(const StateDict& sd) {
  std::vector<double> base = entry(sd, "base_lrs").to_vector<double>();
  std::vector<double> last = entry(sd, "last_lr").to_vector<double>();
  KILN_CHECK(base.size() == base_lrs_.size() && last.size() == base_lrs_.size(),
             "LRScheduler.load_state_dict: the state has ", base.size(), " group(s) but the optimizer has ",
             base_lrs_.size());
  last_epoch_ = entry(sd, "last_epoch").item().to_long();
  step_count_ = entry(sd, "step_count").item().to_long();
  base_lrs_ = base;
  last_lr_ = last;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  KILN_CHECK(step_size > 0, "StepLR: step_size must be positive; got ", step_size);
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return lrs;
  for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  KILN_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive; got ", T_max);
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  const double e = static_cast<double>(last_epoch_), T = static_cast<double>(T_max_);
  for (size_t i = 0; i < lrs.size(); ++i) {
    const double base = base_lrs_[i];
    if (last_epoch_ == 0) continue;
    if (step_count_ == 1 && last_epoch_ > 0)  // resumed at a later epoch: the closed form
      lrs[i] = eta_min_ + (base - eta_min_) * (1 + std::cos(e * kPi / T)) / 2;
    else if (py_mod(last_epoch_ - 1 - T_max_, 2 * T_max_) == 0)
      lrs[i] = lrs[i] + (base - eta_min_) * (1 - std::cos(kPi / T)) / 2;
    else
      lrs[i] = (1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lrs[i] - eta_min_) + eta_min_;
  }
  return lrs;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  KILN_CHECK(start_factor > 0 && start_factor <= 1, "LinearLR: start_factor must be in (0, 1]; got ", start_factor);
  KILN_CHECK(end_factor >= 0 && end_factor <= 1, "LinearLR: end_factor must be in [0, 1]; got ", end_factor);
  KILN_CHECK(total_iters > 0, "LinearLR: total_iters (warmup_steps) must be positive; got ", total_iters);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr *= start_factor_;
    return lrs;
  }
  if (last_epoch_ > total_iters_) return lrs;
  const double delta = end_factor_ - start_factor_;
  const double factor = 1. + delta / (static_cast<double>(total_iters_) * start_factor_ +
                                      static_cast<double>(last_epoch_ - 1) * delta);
  for (double& lr : lrs) lr *= factor;
  return lrs;
}
}  // namespace kiln::optim
