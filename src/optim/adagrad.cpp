// Adagrad: options checks and the per-parameter update through the fused Adagrad kernel.
#include "kiln/optim/adagrad.h"

#include "ops/optim/fused_step.h"
#include "ops/optim/graph_hyper.h"
#include "optim/state_util.h"

namespace kiln::optim {

void AdagradOptions::validate() const {
  KILN_CHECK(lr() >= 0, "Adagrad: invalid learning rate ", lr(), " (must be >= 0)");
  KILN_CHECK(lr_decay() >= 0, "Adagrad: invalid lr_decay ", lr_decay(), " (must be >= 0)");
  KILN_CHECK(weight_decay() >= 0, "Adagrad: invalid weight_decay ", weight_decay(), " (must be >= 0)");
  KILN_CHECK(initial_accumulator_value() >= 0, "Adagrad: invalid initial_accumulator_value ",
             initial_accumulator_value(), " (must be >= 0)");
  KILN_CHECK(eps() >= 0, "Adagrad: invalid epsilon ", eps(), " (must be >= 0)");
}

Adagrad::Adagrad(const std::vector<ParamGroup>& param_groups, AdagradOptions defaults)
    : Optimizer(param_groups, std::make_unique<AdagradOptions>(defaults)) {}

std::unique_ptr<OptimizerParamState> Adagrad::make_state(const Tensor& param, const OptimizerOptions& options) const {
  auto s = std::make_unique<AdagradParamState>();
  s->sum = detail::state_full(param, static_cast<const AdagradOptions&>(options).initial_accumulator_value());
  return s;
}

void Adagrad::step_group(ParamGroup& group) {
  ops::refuse_graph_capture("Adagrad");
  const auto& o = static_cast<const AdagradOptions&>(group.options());
  ops::AdagradHyper h;
  h.eps = o.eps();
  h.weight_decay = o.weight_decay();
  for (Tensor& p : group.params()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    auto& s = state_for<AdagradParamState>(p, o);
    s.step += 1;
    h.clr = o.lr() / (1 + static_cast<double>(s.step - 1) * o.lr_decay());
    ops::adagrad_step(p, g, s.sum, h);
  }
}
}  // namespace kiln::optim
