// train::PlainStep: the default training step (zero_grad, forward, loss, backward, optimizer step).
#include "kiln/train/train_step.h"

#include "kiln/core/error.h"

namespace kiln::train {

void TrainStep::load_state_dict(const StateDict& state) {
  KILN_CHECK(state.empty(), "this training step keeps no state, but the checkpoint has training-step state ('",
             state.begin()->first.substr(0, 80), "', ...): it was written by another kind of step (e.g. --amp fp16)");
}

StepOutput PlainStep::run(const StepContext& ctx, const Tensor& x, const Tensor& y) {
  ctx.optimizer.zero_grad();
  StepOutput out = forward_loss(ctx, x, y);
  backward(ctx, out.loss);
  update(ctx);
  // Detached so fit() holds no reference to the autograd graph past this step.
  return {out.loss.detach(), out.pred.detach()};
}

StepOutput PlainStep::forward_loss(const StepContext& ctx, const Tensor& x, const Tensor& y) {
  Tensor pred = ctx.forward(x);
  Tensor loss = ctx.loss_fn(pred, y);
  return {loss, pred};
}

void PlainStep::backward(const StepContext&, const Tensor& loss) { loss.backward(); }

void PlainStep::update(const StepContext& ctx) { ctx.optimizer.step(); }
}  // namespace kiln::train
