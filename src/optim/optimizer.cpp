// Optimizer base: parameter groups, options plumbing, step driver and zero_grad (state_dict lives in
// optimizer_state_dict.cpp).
#include "kiln/optim/optimizer.h"

#include <typeinfo>
#include <unordered_set>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/pointwise.h"

namespace kiln::optim {

bool OptimizerOptions::has(const std::string& name) const {
  for (const auto& kv : named_values())
    if (kv.first == name) return true;
  return false;
}

double OptimizerOptions::get(const std::string& name) const {
  std::string valid;
  for (const auto& kv : named_values()) {
    if (kv.first == name) return kv.second;
    valid += (valid.empty() ? "" : ", ") + kv.first;
  }
  throw ValueError("unknown optimizer option '" + name + "'; this optimizer has: " + valid);
}

OptimizerOptions& ParamGroup::options() {
  KILN_CHECK(options_ != nullptr, "this parameter group has no options yet: add it to an optimizer first, or "
             "construct it with options");
  return *options_;
}
const OptimizerOptions& ParamGroup::options() const { return const_cast<ParamGroup*>(this)->options(); }

Optimizer::Optimizer(std::vector<ParamGroup> param_groups, std::unique_ptr<OptimizerOptions> defaults)
    : defaults_(std::move(defaults)) {
  defaults_->validate();
  size_t total = 0;
  for (const auto& g : param_groups) total += g.params().size();
  // As in PyTorch: an empty list is nearly always model->parameters() called on the wrong module.
  KILN_CHECK(total > 0, "optimizer got an empty parameter list");
  for (const auto& g : param_groups) add_param_group(g);
}

void Optimizer::add_param_group(const ParamGroup& group) {
  std::unique_ptr<OptimizerOptions> options;
  if (group.has_options()) {
    const OptimizerOptions& given = group.options();
    KILN_CHECK(typeid(given) == typeid(*defaults_), "add_param_group: the group's options are ", typeid(given).name(),
               " but this optimizer takes ", typeid(*defaults_).name());
    options = given.clone();
  } else {
    options = defaults_->clone();
  }
  options->validate();
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& g : param_groups_)
    for (const auto& p : g.params()) seen.insert(p.impl());
  for (size_t i = 0; i < group.params().size(); ++i) {
    const Tensor& p = group.params()[i];
    KILN_CHECK(p.defined(), "add_param_group: parameter ", i, " is an undefined tensor");
    KILN_CHECK(p.is_leaf(), "add_param_group: parameter ", i, " is not a leaf tensor (it was computed by an op); "
               "optimise the tensor it was computed from, or detach() it");
    KILN_CHECK_DTYPE(p.is_floating_point(), "add_param_group: parameter ", i, " has dtype ", p.dtype(),
                     "; only floating-point tensors can be optimised");
    KILN_CHECK(seen.insert(p.impl()).second, "add_param_group: parameter ", i, " (shape ", p.shape_str(),
               ") appears in more than one parameter group, or twice in one");
  }
  ParamGroup added(group.params(), std::move(options));
  if (group.has_initial_lr()) added.set_initial_lr(group.initial_lr());
  param_groups_.push_back(std::move(added));
}

Tensor Optimizer::step(LossClosure closure) {
  Tensor loss;
  if (closure) {
    AutoGradMode enable(true);
    loss = closure();
  }
  NoGradGuard no_grad;
  for (auto& group : param_groups_) step_group(group);
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& group : param_groups_) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      Tensor& g = p.mutable_grad();
      if (set_to_none) {
        g = Tensor();
        continue;
      }
      // A gradient that is itself part of a graph (create_graph=true) is cut loose before zeroing, as torch does.
      if (g.grad_fn()) g.detach_();
      else if (g.requires_grad()) g.requires_grad_(false);
      NoGradGuard no_grad;
      zero_(g);
    }
  }
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const auto& g : param_groups_) all.insert(all.end(), g.params().begin(), g.params().end());
  return all;
}

size_t Optimizer::size() const {
  size_t n = 0;
  for (const auto& g : param_groups_) n += g.params().size();
  return n;
}

OptimizerParamState* Optimizer::state(const Tensor& param) {
  auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : it->second.get();
}
const OptimizerParamState* Optimizer::state(const Tensor& param) const {
  auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : it->second.get();
}
}  // namespace kiln::optim
