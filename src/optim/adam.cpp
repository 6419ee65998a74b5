// Adam and AdamW: options checks and the per-parameter update through the fused Adam kernel.
#include "kiln/optim/adam.h"

#include <cmath>
#include <map>
#include <vector>

#include "ops/optim/fused_step.h"
#include "ops/optim/graph_hyper.h"
#include "optim/state_util.h"

namespace kiln::optim {
namespace {
template <typename Opt>
void validate_adam(const Opt& o, const char* name) {
  KILN_CHECK(o.lr() >= 0, name, ": invalid learning rate ", o.lr(), " (must be >= 0)");
  KILN_CHECK(o.eps() >= 0, name, ": invalid epsilon ", o.eps(), " (must be >= 0)");
  const double b1 = std::get<0>(o.betas()), b2 = std::get<1>(o.betas());
  KILN_CHECK(b1 >= 0 && b1 < 1, name, ": invalid beta1 ", b1, " (must be in [0, 1))");
  KILN_CHECK(b2 >= 0 && b2 < 1, name, ": invalid beta2 ", b2, " (must be in [0, 1))");
  KILN_CHECK(o.weight_decay() >= 0, name, ": invalid weight_decay ", o.weight_decay(), " (must be >= 0)");
}

template <typename Opt>
std::unique_ptr<OptimizerParamState> make_adam_state(const Tensor& param, const Opt& o) {
  // Zeroing new moments inside a capture would zero them again at every replay.
  KILN_CHECK(ops::graph_phase() != ops::GraphPhase::Capturing, "Adam: a parameter of shape ", param.shape_str(),
             " has no optimizer state yet and cannot get it inside a CUDA graph; run a step before capturing "
             "(train::GraphStep's warm-up steps do)");
  auto s = std::make_unique<AdamParamState>();
  s->exp_avg = detail::state_zeros(param);
  s->exp_avg_sq = detail::state_zeros(param);
  if (o.amsgrad()) s->max_exp_avg_sq = detail::state_zeros(param);
  return s;
}

// The bias corrections use the host step count, so the update needs no device value.
template <typename Opt>
ops::AdamHyper adam_hyper(const Opt& o, bool decoupled, int64_t step_count) {
  ops::AdamHyper h;
  h.beta1 = std::get<0>(o.betas());
  h.beta2 = std::get<1>(o.betas());
  h.eps = o.eps();
  h.weight_decay = o.weight_decay();
  h.amsgrad = o.amsgrad();
  h.decoupled = decoupled;
  h.decay = 1 - o.lr() * o.weight_decay();
  const double step = static_cast<double>(step_count);
  h.step_size = o.lr() / (1 - std::pow(h.beta1, step));
  h.bias_correction2_sqrt = std::sqrt(1 - std::pow(h.beta2, step));
  return h;
}

// One group's update: parameters whose step counts agree share one AdamHyper and go to the many-parameter step
// together (one launch for a whole model on CUDA, as PyTorch's fused Adam).
template <typename Opt, typename StateOf>
void adam_group(ParamGroup& group, const Opt& o, bool decoupled, const StateOf& state_of) {
  std::map<int64_t, std::vector<ops::OptimTensors>> by_step;
  for (Tensor& p : group.params()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    AdamParamState& s = state_of(p);
    if (o.amsgrad() && !s.max_exp_avg_sq.defined()) s.max_exp_avg_sq = detail::state_zeros(p);
    // A capture records the update without running it: the preparation of each replay counts the step.
    const int64_t step = s.step + 1;
    if (ops::graph_phase() != ops::GraphPhase::Capturing) s.step = step;
    by_step[step].push_back(ops::OptimTensors{p, g, {s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq}});
  }
  for (const auto& [step, list] : by_step) ops::adam_step_many(list, adam_hyper(o, decoupled, step));
}
}  // namespace

void AdamOptions::validate() const { validate_adam(*this, "Adam"); }
void AdamWOptions::validate() const { validate_adam(*this, "AdamW"); }

Adam::Adam(const std::vector<ParamGroup>& param_groups, AdamOptions defaults)
    : Optimizer(param_groups, std::make_unique<AdamOptions>(defaults)) {}

std::unique_ptr<OptimizerParamState> Adam::make_state(const Tensor& param, const OptimizerOptions& options) const {
  return make_adam_state(param, static_cast<const AdamOptions&>(options));
}

void Adam::step_group(ParamGroup& group) {
  const auto& o = static_cast<const AdamOptions&>(group.options());
  adam_group(group, o, /*decoupled=*/false, [&](const Tensor& p) -> AdamParamState& {
    return state_for<AdamParamState>(p, o);
  });
}

AdamW::AdamW(const std::vector<ParamGroup>& param_groups, AdamWOptions defaults)
    : Optimizer(param_groups, std::make_unique<AdamWOptions>(defaults)) {}

std::unique_ptr<OptimizerParamState> AdamW::make_state(const Tensor& param, const OptimizerOptions& options) const {
  return make_adam_state(param, static_cast<const AdamWOptions&>(options));
}

void AdamW::step_group(ParamGroup& group) {
  const auto& o = static_cast<const AdamWOptions&>(group.options());
  adam_group(group, o, /*decoupled=*/true, [&](const Tensor& p) -> AdamParamState& {
    return state_for<AdamParamState>(p, o);
  });
}
}  // namespace kiln::optim
