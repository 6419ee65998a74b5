// RMSprop with optional momentum and centering (torch.optim.RMSprop).
#pragma once
#include "kiln/optim/optimizer.h"

namespace kiln::optim {

/// RMSprop's options: optim::RMSpropOptions(1e-2).alpha(0.99).momentum(0.9).centered(true).
class RMSpropOptions : public OptimizerCloneableOptions<RMSpropOptions> {
 public:
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as libtorch
  KILN_ARG(double, lr);
  KILN_ARG(double, alpha) = 0.99;
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0;
  KILN_ARG(double, momentum) = 0;
  KILN_ARG(bool, centered) = false;

 public:
  template <typename F>
  void for_each_field(F&& f) {
    f("lr", lr_);
    f("alpha", alpha_);
    f("eps", eps_);
    f("weight_decay", weight_decay_);
    f("momentum", momentum_);
    f("centered", centered_);
  }
  void validate() const override;
};

/// Running mean of squared gradients; the momentum buffer (momentum > 0) and the gradient mean (centered).
struct RMSpropParamState : OptimizerParamState {
  Tensor square_avg, momentum_buffer, grad_avg;
  std::unique_ptr<OptimizerParamState> clone() const override { return std::make_unique<RMSpropParamState>(*this); }
  std::vector<std::pair<const char*, Tensor*>> tensors() override {
    return {{"square_avg", &square_avg}, {"momentum_buffer", &momentum_buffer}, {"grad_avg", &grad_avg}};
  }
};

class RMSprop : public Optimizer {
 public:
  explicit RMSprop(const std::vector<ParamGroup>& param_groups, RMSpropOptions defaults = {});
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions defaults = {})
      : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults)) {}

 protected:
  void step_group(ParamGroup& group) override;
  std::unique_ptr<OptimizerParamState> make_state(const Tensor& param, const OptimizerOptions& options) const override;
};
}  // namespace kiln::optim
