// OneCycleLR: PyTorch's 1cycle schedule of the learning rate (and, optionally, of momentum or beta1).
#include <cmath>

#include "kiln/optim/schedulers.h"

namespace kiln::optim {
namespace {
constexpr double kPi = 3.141592653589793;  // Python's math.pi
}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, double pct_start,
                       const std::string& anneal_strategy, double div_factor, double final_div_factor,
                       bool three_phase, bool cycle_momentum, double base_momentum, double max_momentum)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), total_steps, pct_start,
                 anneal_strategy, div_factor, final_div_factor, three_phase, cycle_momentum, base_momentum,
                 max_momentum) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, const std::vector<double>& max_lrs, int64_t total_steps,
                       double pct_start, const std::string& anneal_strategy, double div_factor,
                       double final_div_factor, bool three_phase, bool cycle_momentum, double base_momentum,
                       double max_momentum)
    : LRScheduler(optimizer), total_steps_(total_steps), cycle_momentum_(cycle_momentum) {
  KILN_CHECK(total_steps > 0, "OneCycleLR: expected a positive total_steps, got ", total_steps);
  KILN_CHECK(pct_start >= 0 && pct_start <= 1, "OneCycleLR: expected pct_start between 0 and 1, got ", pct_start);
  KILN_CHECK(anneal_strategy == "cos" || anneal_strategy == "linear",
             "OneCycleLR: anneal_strategy must be \"cos\" or \"linear\", got \"", anneal_strategy, "\"");
  auto& groups = optimizer.param_groups();
  KILN_CHECK(max_lrs.size() == groups.size(), "OneCycleLR: expected ", groups.size(), " values for max_lr (one per "
             "parameter group), got ", max_lrs.size());
  cos_ = anneal_strategy == "cos";
  const double total = static_cast<double>(total_steps);
  if (three_phase) {
    phases_ = {{pct_start * total - 1, 0, 1, 0, 1},
               {2 * pct_start * total - 2, 1, 0, 1, 0},
               {total - 1, 0, 2, 0, 0}};
  } else {
    phases_ = {{pct_start * total - 1, 0, 1, 0, 1}, {total - 1, 1, 2, 1, 0}};
  }
  base_lrs_.clear();
  for (size_t i = 0; i < groups.size(); ++i) {
    initial_lrs_.push_back(max_lrs[i] / div_factor);
    max_lrs_.push_back(max_lrs[i]);
    min_lrs_.push_back(initial_lrs_[i] / final_div_factor);
    groups[i].set_initial_lr(initial_lrs_[i]);
    base_lrs_.push_back(initial_lrs_[i]);
  }
  if (cycle_momentum_) {
    const OptimizerOptions& d = optimizer.defaults();
    if (d.has("betas.0")) momentum_name_ = "betas.0";
    else if (d.has("momentum")) momentum_name_ = "momentum";
    else
      throw ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas (SGD, RMSprop, Adam, "
                       "AdamW); pass cycle_momentum=false for this one");
    for (ParamGroup& g : groups) {
      g.options().set_named_value(momentum_name_, max_momentum);
      max_momenta_.push_back(max_momentum);
      base_momenta_.push_back(base_momentum);
    }
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (cos_) {
    const double cos_out = std::cos(kPi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lr() {
  KILN_CHECK(last_epoch_ <= total_steps_, "OneCycleLR: tried to step ", last_epoch_ + 1,
             " times; the specified number of total steps is ", total_steps_);
  auto& groups = optimizer_.param_groups();
  const double step_num = static_cast<double>(last_epoch_);
  std::vector<double> lrs;
  for (size_t i = 0; i < groups.size(); ++i) {
    const double lr_at[3] = {initial_lrs_[i], max_lrs_[i], min_lrs_[i]};
    double start_step = 0, lr = 0, momentum = 0;
    for (size_t k = 0; k < phases_.size(); ++k) {
      const Phase& ph = phases_[k];
      if (step_num <= ph.end_step || k + 1 == phases_.size()) {
        const double pct = (step_num - start_step) / (ph.end_step - start_step);
        lr = anneal(lr_at[ph.start_lr], lr_at[ph.end_lr], pct);
        if (cycle_momentum_) {
          const double m_at[2] = {max_momenta_[i], base_momenta_[i]};
          momentum = anneal(m_at[ph.start_momentum], m_at[ph.end_momentum], pct);
        }
        break;
      }
      start_step = ph.end_step;
    }
    lrs.push_back(lr);
    if (cycle_momentum_) groups[i].options().set_named_value(momentum_name_, momentum);
  }
  return lrs;
}
}  // namespace kiln::optim
