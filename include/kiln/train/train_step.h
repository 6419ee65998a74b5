// train::TrainStep: one optimisation step as a swappable strategy, so fit() stays one loop for plain, AMP,
// DDP and CUDA-graph training.
#pragma once
#include <functional>

#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"

namespace kiln::train {

/// The model's forward: a batch of inputs -> predictions.
using ForwardFn = std::function<Tensor(const Tensor&)>;
/// loss(prediction, target) -> scalar tensor (mean over the batch).
using LossFn = std::function<Tensor(const Tensor&, const Tensor&)>;

/// What a step may use, borrowed from the Model for the duration of one run(): the module (for its
/// parameters, e.g. to hang gradient hooks on), its forward, the loss and the optimizer.
struct StepContext {
  nn::Module& module;
  const ForwardFn& forward;
  const LossFn& loss_fn;
  optim::Optimizer& optimizer;
};

/// What fit() needs from a step to keep its running loss and accuracy, left on the device.
struct StepOutput {
  Tensor loss;  ///< the batch's mean loss as the user defines it (not scaled), one element, detached
  Tensor pred;  ///< the batch's prediction (first dim = batch rows), detached
};

/// One training step on one batch. fit() calls run() once per batch, in training mode, with x and y already
/// on the model's device; the per-step bookkeeping (loss sum, accuracy, callbacks) stays in fit().
/// Subclass it to change the whole step (a captured CUDA graph that replays, a wrapper around another step),
/// or subclass PlainStep to change one phase of it (AMP loss scaling, DDP gradient sync).
class TrainStep {
 public:
  virtual ~TrainStep() = default;
  /// Requires x and y on the model's device and a compiled model (ctx is complete). Guarantees the
  /// parameters have been updated (or the update deliberately skipped) and returns the batch's loss and
  /// prediction as device tensors. A step should read nothing back to the host (no item()): that would make
  /// every batch wait for the GPU. fit() has used the returned tensors (enqueued its sums) before the next
  /// run(), so a step may return buffers it rewrites on every call, such as a replayed CUDA graph's outputs.
  virtual StepOutput run(const StepContext& ctx, const Tensor& x, const Tensor& y) = 0;
  /// State the step carries between batches (an AMP step's loss scale), saved in checkpoints under "step.".
  virtual StateDict state_dict() const { return {}; }
  /// Restores what state_dict() gave; a step without state refuses a non-empty dict (ValueError).
  virtual void load_state_dict(const StateDict& state);
};

/// The default step, as PyTorch's loop: zero_grad, forward, loss, backward, optimizer step. Its phases are
/// virtual so a subclass changes one without copying the rest: AMP scales in backward() and unscales or
/// skips in update(); DDP waits for its gradient all-reduce at the end of backward().
class PlainStep : public TrainStep {
 public:
  /// optimizer.zero_grad(); forward_loss(); backward(loss); update(); returns both tensors detached.
  StepOutput run(const StepContext& ctx, const Tensor& x, const Tensor& y) override;

 protected:
  /// pred = forward(x), loss = loss_fn(pred, y), both still attached to the autograd graph.
  virtual StepOutput forward_loss(const StepContext& ctx, const Tensor& x, const Tensor& y);
  /// Accumulates the loss's gradient into .grad of every parameter it depends on: loss.backward().
  virtual void backward(const StepContext& ctx, const Tensor& loss);
  /// Applies the gradients: optimizer.step().
  virtual void update(const StepContext& ctx);
};
}  // namespace kiln::train
