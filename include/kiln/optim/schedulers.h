// Learning-rate schedulers, as torch.optim.lr_scheduler: each sets the lr of every parameter group of an
// optimizer once per step(), with PyTorch's (recursive, "chainable") formulas so the values match exactly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/optim/optimizer.h"
#include "kiln/tensor/state_dict.h"

namespace kiln::optim {

/// Base of the schedulers. Constructing one records each group's initial lr (kept in the group, so
/// schedulers chained on one optimizer share it) and applies the epoch-0 learning rate, as PyTorch does.
/// Call step() after optimizer.step(), once per epoch or iteration as the schedule is defined.
class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances last_epoch by one and sets every group's lr.
  void step();
  /// The lr of each group as last set by this scheduler.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The epoch the current lr belongs to (0 right after construction).
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() { return optimizer_; }

  /// "last_epoch" and "step_count" (0-dim int64), "base_lrs" and "last_lr" (1-D float64).
  virtual StateDict state_dict() const;
  /// Restores state_dict(); throws ValueError naming missing keys or a group count that differs.
  virtual void load_state_dict(const StateDict& state_dict);

 protected:
  /// The lr of each group for last_epoch_ (may read the groups' current lr: the chainable form).
  virtual std::vector<double> get_lr() = 0;
  /// Applies the epoch-0 lr; every concrete scheduler calls it at the end of its constructor.
  void initial_step();
  /// The current lr of each group.
  std::vector<double> group_lrs() const;

  Optimizer& optimizer_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
};

/// lr *= gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  int64_t step_size_;
  double gamma_;
};

/// lr *= gamma at each milestone epoch (a milestone listed twice multiplies by gamma^2).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::vector<int64_t> milestones_;
  double gamma_;
};

/// lr *= gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lr() override;
  double gamma_;
};

/// Cosine annealing from the initial lr down to eta_min over T_max epochs (and back up after, as torch's
/// recursive form does).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);

 protected:
  std::vector<double> get_lr() override;
  int64_t T_max_;
  double eta_min_;
};

/// The lr factor goes linearly from start_factor to end_factor over total_iters epochs, then stays (torch's LinearLR).
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

/// Warm-up: the lr ramps linearly from start_factor * lr to lr over warmup_steps steps (LinearLR ending at 1).
class LinearWarmup : public LinearLR {
 public:
  LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor = 1.0 / 3)
      : LinearLR(optimizer, start_factor, 1.0, warmup_steps) {}
};

/// The 1cycle policy (Smith & Topin): lr rises from max_lr / div_factor to max_lr over pct_start of
/// total_steps, then anneals ("cos" or "linear") to initial / final_div_factor; three_phase goes back to the
/// initial lr first. With cycle_momentum (PyTorch's default) momentum, or Adam's beta1, cycles inversely
/// between max_momentum and base_momentum; the optimizer must have one. Step it once per batch; stepping
/// past total_steps throws ValueError.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, double pct_start = 0.3,
             const std::string& anneal_strategy = "cos", double div_factor = 25.0, double final_div_factor = 1e4,
             bool three_phase = false, bool cycle_momentum = true, double base_momentum = 0.85,
             double max_momentum = 0.95);
  /// One max_lr per parameter group.
  OneCycleLR(Optimizer& optimizer, const std::vector<double>& max_lrs, int64_t total_steps, double pct_start = 0.3,
             const std::string& anneal_strategy = "cos", double div_factor = 25.0, double final_div_factor = 1e4,
             bool three_phase = false, bool cycle_momentum = true, double base_momentum = 0.85,
             double max_momentum = 0.95);

 protected:
  std::vector<double> get_lr() override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;              // 0 initial, 1 max, 2 min
    int start_momentum, end_momentum;  // 0 max, 1 base
  };
  double anneal(double start, double end, double pct) const;
  int64_t total_steps_;
  bool cos_;
  bool cycle_momentum_;
  std::string momentum_name_;  // "momentum" or "betas.0"
  std::vector<Phase> phases_;
  std::vector<double> initial_lrs_, max_lrs_, min_lrs_, max_momenta_, base_momenta_;
};
}  // namespace kiln::optim
