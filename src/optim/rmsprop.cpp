// RMSprop: options checks and the per-parameter update through the fused RMSprop kernel.
#include "kiln/optim/rmsprop.h"

#include "ops/optim/fused_step.h"
#include "ops/optim/graph_hyper.h"
#include "optim/state_util.h"

namespace kiln::optim {

void RMSpropOptions::validate() const {
  KILN_CHECK(lr() >= 0, "RMSprop: invalid learning rate ", lr(), " (must be >= 0)");
  KILN_CHECK(eps() >= 0, "RMSprop: invalid epsilon ", eps(), " (must be >= 0)");
  KILN_CHECK(momentum() >= 0, "RMSprop: invalid momentum ", momentum(), " (must be >= 0)");
  KILN_CHECK(weight_decay() >= 0, "RMSprop: invalid weight_decay ", weight_decay(), " (must be >= 0)");
  KILN_CHECK(alpha() >= 0, "RMSprop: invalid alpha ", alpha(), " (must be >= 0)");
}

RMSprop::RMSprop(const std::vector<ParamGroup>& param_groups, RMSpropOptions defaults)
    : Optimizer(param_groups, std::make_unique<RMSpropOptions>(defaults)) {}

std::unique_ptr<OptimizerParamState> RMSprop::make_state(const Tensor& param, const OptimizerOptions& options) const {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  auto s = std::make_unique<RMSpropParamState>();
  s->square_avg = detail::state_zeros(param);
  if (o.momentum() > 0) s->momentum_buffer = detail::state_zeros(param);
  if (o.centered()) s->grad_avg = detail::state_zeros(param);
  return s;
}

void RMSprop::step_group(ParamGroup& group) {
  ops::refuse_graph_capture("RMSprop");
  const auto& o = static_cast<const RMSpropOptions&>(group.options());
  ops::RmspropHyper h;
  h.lr = o.lr();
  h.alpha = o.alpha();
  h.eps = o.eps();
  h.weight_decay = o.weight_decay();
  h.momentum = o.momentum();
  h.centered = o.centered();
  for (Tensor& p : group.params()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    auto& s = state_for<RMSpropParamState>(p, o);
    // Options may change between steps (a scheduler cycling momentum): start a buffer when first needed.
    if (h.momentum > 0 && !s.momentum_buffer.defined()) s.momentum_buffer = detail::state_zeros(p);
    if (h.centered && !s.grad_avg.defined()) s.grad_avg = detail::state_zeros(p);
    s.step += 1;
    ops::rmsprop_step(p, g, s.square_avg, s.grad_avg, s.momentum_buffer, h);
  }
}
}  // namespace kiln::optim
