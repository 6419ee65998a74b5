// Adam (L2 weight decay, optional AMSGrad) and AdamW (decoupled weight decay), as torch.optim.Adam / AdamW.
#pragma once
#include <tuple>

#include "kiln/optim/optimizer.h"

namespace kiln::optim {

/// Adam's options: optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).
class AdamOptions : public OptimizerCloneableOptions<AdamOptions> {
 public:
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as libtorch
  KILN_ARG(double, lr);
  KILN_ARG(Betas, betas) = std::make_tuple(0.9, 0.999);
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0;
  KILN_ARG(bool, amsgrad) = false;

 public:
  template <typename F>
  void for_each_field(F&& f) {
    f("lr", lr_);
    f("betas", betas_);
    f("eps", eps_);
    f("weight_decay", weight_decay_);
    f("amsgrad", amsgrad_);
  }
  void validate() const override;
};

/// AdamW's options: as Adam's, with weight_decay 1e-2 by default and applied decoupled (p *= 1 - lr * wd).
class AdamWOptions : public OptimizerCloneableOptions<AdamWOptions> {
 public:
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as libtorch
  KILN_ARG(double, lr);
  KILN_ARG(Betas, betas) = std::make_tuple(0.9, 0.999);
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 1e-2;
  KILN_ARG(bool, amsgrad) = false;

 public:
  template <typename F>
  void for_each_field(F&& f) {
    f("lr", lr_);
    f("betas", betas_);
    f("eps", eps_);
    f("weight_decay", weight_decay_);
    f("amsgrad", amsgrad_);
  }
  void validate() const override;
};

/// First and second moments (and their running maximum with amsgrad).
struct AdamParamState : OptimizerParamState {
  Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  std::unique_ptr<OptimizerParamState> clone() const override { return std::make_unique<AdamParamState>(*this); }
  std::vector<std::pair<const char*, Tensor*>> tensors() override {
    return {{"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq}, {"max_exp_avg_sq", &max_exp_avg_sq}};
  }
};

/// Adam with L2 weight decay added to the gradient. Each parameter is updated in one fused pass.
class Adam : public Optimizer {
 public:
  explicit Adam(const std::vector<ParamGroup>& param_groups, AdamOptions defaults = {});
  explicit Adam(std::vector<Tensor> params, AdamOptions defaults = {})
      : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults)) {}

 protected:
  void step_group(ParamGroup& group) override;
  std::unique_ptr<OptimizerParamState> make_state(const Tensor& param, const OptimizerOptions& options) const override;
};

/// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter). Same state as Adam.
class AdamW : public Optimizer {
 public:
  explicit AdamW(const std::vector<ParamGroup>& param_groups, AdamWOptions defaults = {});
  explicit AdamW(std::vector<Tensor> params, AdamWOptions defaults = {})
      : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults)) {}

 protected:
  void step_group(ParamGroup& group) override;
  std::unique_ptr<OptimizerParamState> make_state(const Tensor& param, const OptimizerOptions& options) const override;
};
}  // namespace kiln::optim
