// Optimizer base, as libtorch's torch::optim::Optimizer: parameter groups with per-group options,
// per-parameter state, zero_grad, and a state_dict of named tensors for checkpoints.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln/core/error.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"

/// Declares an option with a chaining setter and a getter, like libtorch's TORCH_ARG:
/// `opts.lr(1e-3)` sets it and returns the options, `opts.lr()` reads it. Follow with `= default;`.
#define KILN_ARG(T, name)                                          \
 public:                                                           \
  inline auto name(const T& new_##name)->decltype(*this) {         \
    this->name##_ = new_##name;                                    \
    return *this;                                                  \
  }                                                                \
  inline const T& name() const noexcept { return this->name##_; } \
  inline T& name() noexcept { return this->name##_; }             \
                                                                   \
 private:                                                          \
  T name##_

namespace kiln::optim {

/// Adam's (beta1, beta2).
using Betas = std::tuple<double, double>;

/// The hyper-parameters of one optimizer (lr, betas, ...), held once as defaults and once per group.
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  /// Every hyper-parameter as (name, value): bools as 0/1, a pair such as betas as "betas.0", "betas.1".
  /// The order is fixed; these are the param_groups entries of state_dict and what schedulers read.
  virtual std::vector<std::pair<std::string, double>> named_values() const = 0;
  /// Sets one hyper-parameter by a name named_values() lists; throws ValueError naming the valid ones.
  virtual void set_named_value(const std::string& name, double value) = 0;
  /// Throws ValueError naming the first invalid value (negative lr, beta outside [0, 1), ...).
  virtual void validate() const {}
  /// Whether named_values() has `name`, and its value (ValueError when absent).
  bool has(const std::string& name) const;
  double get(const std::string& name) const;
};

namespace detail {
inline void append_value(std::vector<std::pair<std::string, double>>& out, const char* n, double v) { out.emplace_back(n, v); }
inline void append_value(std::vector<std::pair<std::string, double>>& out, const char* n, bool v) {
  out.emplace_back(n, v ? 1.0 : 0.0);
}
inline void append_value(std::vector<std::pair<std::string, double>>& out, const char* n, const std::tuple<double, double>& v) {
  out.emplace_back(std::string(n) + ".0", std::get<0>(v));
  out.emplace_back(std::string(n) + ".1", std::get<1>(v));
}
inline bool set_value(const char* n, double& field, const std::string& name, double v) {
  if (name != n) return false;
  field = v;
  return true;
}
inline bool set_value(const char* n, bool& field, const std::string& name, double v) {
  if (name != n) return false;
  field = v != 0.0;
  return true;
}
inline bool set_value(const char* n, std::tuple<double, double>& field, const std::string& name, double v) {
  if (name == std::string(n) + ".0") std::get<0>(field) = v;
  else if (name == std::string(n) + ".1") std::get<1>(field) = v;
  else return false;
  return true;
}
}  // namespace detail

/// Implements the OptimizerOptions plumbing from Derived::for_each_field(f), which calls f(name, field)
/// for every option (double, bool or std::tuple<double, double>), so each option is listed once.
template <typename Derived>
class OptimizerCloneableOptions : public OptimizerOptions {
 public:
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  double get_lr() const override { return static_cast<const Derived&>(*this).lr(); }
  void set_lr(double lr) override { static_cast<Derived&>(*this).lr(lr); }
  std::vector<std::pair<std::string, double>> named_values() const override {
    std::vector<std::pair<std::string, double>> out;
    const_cast<Derived&>(static_cast<const Derived&>(*this)).for_each_field([&](const char* n, auto& field) {
      detail::append_value(out, n, field);
    });
    return out;
  }
  void set_named_value(const std::string& name, double value) override {
    bool found = false;
    static_cast<Derived&>(*this).for_each_field([&](const char* n, auto& field) {
      found = detail::set_value(n, field, name, value) || found;
    });
    if (!found) {
      std::string valid;
      for (const auto& kv : named_values()) valid += (valid.empty() ? "" : ", ") + kv.first;
      throw ValueError("unknown optimizer option '" + name + "'; this optimizer has: " + valid);
    }
  }
};

/// The state an optimizer keeps for one parameter (step count, moment buffers, ...).
class OptimizerParamState {
 public:
  virtual ~OptimizerParamState() = default;
  virtual std::unique_ptr<OptimizerParamState> clone() const = 0;
  /// The state tensors by name (each shaped like its parameter); undefined ones are left out of state_dict.
  virtual std::vector<std::pair<const char*, Tensor*>> tensors() = 0;
  /// Whether the state counts steps (saved as state.<i>.step); SGD keeps no count, as in PyTorch.
  virtual bool has_step() const { return true; }
  /// Steps taken with this parameter, kept on the host so a step never waits on the device.
  int64_t step = 0;
};

/// A set of parameters optimised with their own options (libtorch's OptimizerParamGroup).
class ParamGroup {
 public:
  /// A group that takes the optimizer's defaults when it is added.
  ParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}  // NOLINT: implicit like libtorch
  ParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options)
      : params_(std::move(params)), options_(std::move(options)) {}
  /// A group with its own options: ParamGroup(head->parameters(), AdamOptions(1e-2)).
  template <typename Opt, typename = std::enable_if_t<std::is_base_of<OptimizerOptions, Opt>::value>>
  ParamGroup(std::vector<Tensor> params, const Opt& options) : params_(std::move(params)), options_(options.clone()) {}
  ParamGroup(const ParamGroup& o)
      : params_(o.params_), options_(o.options_ ? o.options_->clone() : nullptr), initial_lr_(o.initial_lr_) {}
  ParamGroup& operator=(const ParamGroup& o) {
    params_ = o.params_;
    options_ = o.options_ ? o.options_->clone() : nullptr;
    initial_lr_ = o.initial_lr_;
    return *this;
  }
  ParamGroup(ParamGroup&&) = default;
  ParamGroup& operator=(ParamGroup&&) = default;

  bool has_options() const { return options_ != nullptr; }
  /// The group's options; throws ValueError before the group has been added to an optimizer.
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }
  /// The lr the group had when the first scheduler was attached (PyTorch's group["initial_lr"]): every
  /// scheduler of the group starts from it, so chained schedulers agree on the base.
  bool has_initial_lr() const { return initial_lr_ >= 0; }
  double initial_lr() const { return initial_lr_; }
  void set_initial_lr(double lr) { initial_lr_ = lr; }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
  double initial_lr_ = -1;  // unset
};
using OptimizerParamGroup = ParamGroup;

/// Base of every optimizer. step() updates each parameter that has a gradient, in place, under
/// NoGradGuard, with tensor ops only (no host synchronisation).
class Optimizer {
 public:
  using LossClosure = std::function<Tensor()>;

  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  /// One update of every parameter with a defined gradient (parameters without one are skipped).
  /// When given, closure is called first with grad mode on (it recomputes the loss and its gradients)
  /// and its result returned; otherwise returns an undefined Tensor.
  virtual Tensor step(LossClosure closure = nullptr);
  /// Clears every parameter's gradient: drops it (set_to_none, the default, as in PyTorch 2) or zeroes it.
  void zero_grad(bool set_to_none = true);
  /// Adds a group; one without options gets a copy of the defaults. Throws ValueError when a parameter
  /// is already optimised, is not a leaf, or the options belong to another optimizer.
  void add_param_group(const ParamGroup& group);
  std::vector<ParamGroup>& param_groups() { return param_groups_; }
  const std::vector<ParamGroup>& param_groups() const { return param_groups_; }
  /// All parameters, group after group (the order state_dict numbers them in).
  std::vector<Tensor> parameters() const;
  /// Number of parameters over all groups.
  size_t size() const;
  OptimizerOptions& defaults() { return *defaults_; }
  const OptimizerOptions& defaults() const { return *defaults_; }
  /// The state of a parameter, or nullptr before its first step.
  OptimizerParamState* state(const Tensor& param);
  const OptimizerParamState* state(const Tensor& param) const;

  /// The optimizer as named tensors: "param_groups.<g>.<option>" (0-dim float64, e.g. param_groups.0.lr),
  /// "param_groups.<g>.params" (1-D int64 parameter indices), "state.<i>.step" (0-dim int64) and
  /// "state.<i>.<buffer>" (e.g. state.3.exp_avg), with i the parameter's index in parameters().
  /// Buffers alias the live state, as in PyTorch: clone them to keep a snapshot while training goes on.
  StateDict state_dict() const;
  /// Restores options and state from state_dict() of an optimizer of the same kind over parameters of
  /// the same shapes. Throws ValueError naming every missing or unexpected key and every wrong shape,
  /// and changes nothing then. State is copied onto each parameter's device and dtype.
  void load_state_dict(const StateDict& state_dict);

 protected:
  Optimizer(std::vector<ParamGroup> param_groups, std::unique_ptr<OptimizerOptions> defaults);
  /// Updates the parameters of one group (called under NoGradGuard).
  virtual void step_group(ParamGroup& group) = 0;
  /// Fresh state for a parameter, with every buffer the options call for (load_state_dict fills it).
  virtual std::unique_ptr<OptimizerParamState> make_state(const Tensor& param, const OptimizerOptions& options) const = 0;
  /// The parameter's state, made by make_state on first use.
  template <typename State>
  State& state_for(const Tensor& param, const OptimizerOptions& options) {
    auto it = state_.find(param.impl());
    if (it == state_.end()) it = state_.emplace(param.impl(), make_state(param, options)).first;
    return static_cast<State&>(*it->second);
  }
  std::vector<ParamGroup> param_groups_;
  std::unordered_map<const TensorImpl*, std::unique_ptr<OptimizerParamState>> state_;
  std::unique_ptr<OptimizerOptions> defaults_;
};
}  // namespace kiln::optim
