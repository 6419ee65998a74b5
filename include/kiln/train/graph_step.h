// train::GraphStep: the training step captured once as a CUDA graph and replayed for every batch of the captured
// shape (PyTorch's whole-network capture with torch.cuda.graph), one launch per step instead of one per kernel.
#pragma once
#include <cstdint>
#include <memory>

#include "kiln/train/train_step.h"

namespace kiln::train {

/// Runs `inner` eagerly for `warmup` batches (they create the optimizer state, momentum buffers and cuBLAS
/// workspaces, so the capture finds them), then captures one run of it (forward, loss, backward and the optimizer
/// step) into a cuda::CUDAGraph and, for each later batch, copies the batch into the graph's input tensors and
/// replays. The optimizer's step-dependent values (Adam's step size and bias correction, the learning rate a
/// scheduler sets) are uploaded to device memory before each replay, so they keep changing; gradients, losses and
/// predictions stay in the graph's memory, and each parameter's .grad is the graph's gradient. A batch of another
/// shape (the last, smaller one of an epoch) runs eagerly, and the graph's gradients are put back after it.
///
/// Needs a CUDA device; Adam, AdamW or SGD; no dropout or other random draws in the step; and no GradScaler
/// (float16 AMP waits for the host each step): bfloat16 AMP works. Each refusal names its cause at capture.
class GraphStep : public TrainStep {
 public:
  explicit GraphStep(std::shared_ptr<TrainStep> inner = std::make_shared<PlainStep>(), int warmup = 3);
  ~GraphStep() override;
  StepOutput run(const StepContext& ctx, const Tensor& x, const Tensor& y) override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

  /// Operations one replay runs (the captured graph's nodes: kernels and copies); 0 before the capture.
  int64_t graph_nodes() const;
  /// Steps run by replaying the graph, and eagerly (warm-up, batches of another shape).
  int64_t replayed_steps() const;
  int64_t eager_steps() const;

 private:
  struct State;
  std::shared_ptr<TrainStep> inner_;
  int warmup_;
  std::unique_ptr<State> s_;
  void capture(const StepContext& ctx, const Tensor& x, const Tensor& y);
};
}  // namespace kiln::train
