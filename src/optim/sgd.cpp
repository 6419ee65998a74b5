// SGD: options checks and the per-group update through the fused SGD kernel.
#include "kiln/optim/sgd.h"

#include "ops/optim/fused_step.h"
#include "ops/optim/graph_hyper.h"
#include "optim/state_util.h"

namespace kiln::optim {

void SGDOptions::validate() const {
  KILN_CHECK(lr() >= 0, "SGD: invalid learning rate ", lr(), " (must be >= 0)");
  KILN_CHECK(momentum() >= 0, "SGD: invalid momentum ", momentum(), " (must be >= 0)");
  KILN_CHECK(weight_decay() >= 0, "SGD: invalid weight_decay ", weight_decay(), " (must be >= 0)");
  KILN_CHECK(!nesterov() || (momentum() > 0 && dampening() == 0),
             "SGD: Nesterov momentum requires a momentum > 0 and zero dampening; got momentum ", momentum(),
             ", dampening ", dampening());
}

SGD::SGD(const std::vector<ParamGroup>& param_groups, SGDOptions defaults)
    : Optimizer(param_groups, std::make_unique<SGDOptions>(defaults)) {}

std::unique_ptr<OptimizerParamState> SGD::make_state(const Tensor& param, const OptimizerOptions& options) const {
  auto s = std::make_unique<SGDParamState>();
  if (static_cast<const SGDOptions&>(options).momentum() != 0) s->momentum_buffer = detail::state_zeros(param);
  return s;
}

void SGD::step_group(ParamGroup& group) {
  const auto& o = static_cast<const SGDOptions&>(group.options());
  ops::SgdHyper h;
  h.lr = o.lr();
  h.momentum = o.momentum();
  h.dampening = o.dampening();
  h.weight_decay = o.weight_decay();
  h.nesterov = o.nesterov();
  // Parameters whose momentum buffer starts now (first_step) and the others: one many-parameter step each.
  std::vector<ops::OptimTensors> starting, going;
  for (Tensor& p : group.params()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    Tensor buf;
    bool first = false;
    if (h.momentum != 0) {
      // Not state_for: make_state's zero buffer is for load_state_dict; a first step starts without one.
      auto it = state_.find(p.impl());
      if (it == state_.end()) it = state_.emplace(p.impl(), std::make_unique<SGDParamState>()).first;
      auto& s = static_cast<SGDParamState&>(*it->second);
      // torch starts the buffer as a copy of the first gradient; the kernel writes it, so no zeros are needed.
      if (!s.momentum_buffer.defined()) {
        // A replay would copy the gradient into the buffer every time, as on this first step.
        KILN_CHECK(ops::graph_phase() != ops::GraphPhase::Capturing,
                   "SGD with momentum cannot capture a parameter's first step into a CUDA graph; run a step before "
                   "capturing (train::GraphStep's warm-up steps do)");
        s.momentum_buffer = detail::state_empty(p);
        first = true;
      }
      buf = s.momentum_buffer;
    }
    (first ? starting : going).push_back(ops::OptimTensors{p, g, {buf, Tensor(), Tensor()}});
  }
  h.first_step = true;
  ops::sgd_step_many(starting, h);
  h.first_step = false;
  ops::sgd_step_many(going, h);
}
}  // namespace kiln::optim
