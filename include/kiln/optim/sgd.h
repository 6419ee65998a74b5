// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD).
#pragma once
#include "kiln/optim/optimizer.h"

namespace kiln::optim {

/// SGD's options: optim::SGDOptions(0.1).momentum(0.9).nesterov(true).
class SGDOptions : public OptimizerCloneableOptions<SGDOptions> {
 public:
  SGDOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as libtorch
  KILN_ARG(double, lr);
  KILN_ARG(double, momentum) = 0;
  KILN_ARG(double, dampening) = 0;
  KILN_ARG(double, weight_decay) = 0;
  KILN_ARG(bool, nesterov) = false;

 public:
  template <typename F>
  void for_each_field(F&& f) {
    f("lr", lr_);
    f("momentum", momentum_);
    f("dampening", dampening_);
    f("weight_decay", weight_decay_);
    f("nesterov", nesterov_);
  }
  void validate() const override;
};

/// The momentum buffer (undefined until the first step with momentum; it starts as that step's gradient).
struct SGDParamState : OptimizerParamState {
  Tensor momentum_buffer;
  std::unique_ptr<OptimizerParamState> clone() const override { return std::make_unique<SGDParamState>(*this); }
  std::vector<std::pair<const char*, Tensor*>> tensors() override { return {{"momentum_buffer", &momentum_buffer}}; }
  bool has_step() const override { return false; }
};

/// With g = grad + weight_decay * p, momentum m: buf = g on the first step, then buf = m * buf + (1 - dampening) * g;
/// p -= lr * (nesterov ? g + m * buf : buf). Exactly torch.optim.SGD's order of operations.
class SGD : public Optimizer {
 public:
  explicit SGD(const std::vector<ParamGroup>& param_groups, SGDOptions defaults = {});
  explicit SGD(std::vector<Tensor> params, SGDOptions defaults = {})
      : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults)) {}

 protected:
  void step_group(ParamGroup& group) override;
  std::unique_ptr<OptimizerParamState> make_state(const Tensor& param, const OptimizerOptions& options) const override;
};
}  // namespace kiln::optim
