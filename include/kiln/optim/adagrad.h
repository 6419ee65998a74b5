// Adagrad with learning-rate decay and weight decay (torch.optim.Adagrad).
#pragma once
#include "kiln/optim/optimizer.h"

namespace kiln::optim {

/// Adagrad's options: optim::AdagradOptions(1e-2).lr_decay(1e-4).initial_accumulator_value(0.1).
class AdagradOptions : public OptimizerCloneableOptions<AdagradOptions> {
 public:
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as libtorch
  KILN_ARG(double, lr);
  KILN_ARG(double, lr_decay) = 0;
  KILN_ARG(double, weight_decay) = 0;
  KILN_ARG(double, initial_accumulator_value) = 0;
  KILN_ARG(double, eps) = 1e-10;

 public:
  template <typename F>
  void for_each_field(F&& f) {
    f("lr", lr_);
    f("lr_decay", lr_decay_);
    f("weight_decay", weight_decay_);
    f("initial_accumulator_value", initial_accumulator_value_);
    f("eps", eps_);
  }
  void validate() const override;
};

/// The running sum of squared gradients (starts at initial_accumulator_value).
struct AdagradParamState : OptimizerParamState {
  Tensor sum;
  std::unique_ptr<OptimizerParamState> clone() const override { return std::make_unique<AdagradParamState>(*this); }
  std::vector<std::pair<const char*, Tensor*>> tensors() override { return {{"sum", &sum}}; }
};

/// p -= lr / (1 + (step - 1) * lr_decay) * g / (sqrt(sum) + eps), with sum += g * g first.
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(const std::vector<ParamGroup>& param_groups, AdagradOptions defaults = {});
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions defaults = {})
      : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults)) {}

 protected:
  void step_group(ParamGroup& group) override;
  std::unique_ptr<OptimizerParamState> make_state(const Tensor& param, const OptimizerOptions& options) const override;
};
}  // namespace kiln::optim
