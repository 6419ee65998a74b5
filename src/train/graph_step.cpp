// train::GraphStep: warm-up, capture, and replay of the training step (see graph_step.h and ARCHITECTURE's
// "CUDA graphs").
#include "kiln/train/graph_step.h"

#include <vector>

#include "kiln/core/error.h"
#include "kiln/cuda/graph.h"
#include "ops/optim/graph_hyper.h"

namespace kiln::train {

struct GraphStep::State {
  cuda::CUDAGraph graph;
  ops::GraphHyper hyper;
  Tensor x, y;                // the graph's inputs: each batch is copied in before a replay
  StepOutput out;             // the graph's outputs, rewritten by each replay
  std::vector<Tensor> params, grads;  // each parameter and the gradient the graph writes for it
  int warm = 0;
  int64_t replayed = 0, eager = 0;
};

GraphStep::GraphStep(std::shared_ptr<TrainStep> inner, int warmup)
    : inner_(std::move(inner)), warmup_(warmup), s_(std::make_unique<State>()) {
  KILN_CHECK(inner_ != nullptr, "GraphStep: the step to capture is null");
  KILN_CHECK(warmup_ >= 1, "GraphStep: at least one warm-up step is needed before the capture, got ", warmup_);
}

GraphStep::~GraphStep() = default;

StateDict GraphStep::state_dict() const { return inner_->state_dict(); }
void GraphStep::load_state_dict(const StateDict& state) { inner_->load_state_dict(state); }
int64_t GraphStep::graph_nodes() const { return s_->graph.num_nodes(); }
int64_t GraphStep::replayed_steps() const { return s_->replayed; }
int64_t GraphStep::eager_steps() const { return s_->eager; }

void GraphStep::capture(const StepContext& ctx, const Tensor& x, const Tensor& y) {
  // Tensors that exist before the capture keep their addresses: each batch is copied into these.
  s_->x = x.clone();
  s_->y = y.clone();
  // The capture's backward then allocates every gradient from the graph's memory, where replays write them.
  ctx.optimizer.zero_grad(/*set_to_none=*/true);
  ops::GraphPhaseScope phase(s_->hyper, ops::GraphPhase::Capturing);
  StepOutput out;
  s_->graph.capture([&] { out = inner_->run(ctx, s_->x, s_->y); }, x.device().index());
  s_->out = out;
  for (const Tensor& p : ctx.module.parameters()) {
    s_->params.push_back(p);
    s_->grads.push_back(p.grad());
  }
}

StepOutput GraphStep::run(const StepContext& ctx, const Tensor& x, const Tensor& y) {
  KILN_CHECK_DEVICE(x.is_cuda(), "GraphStep (kiln train --cuda-graph) captures CUDA kernels, but this batch is on ",
                    x.device(), ": train on a GPU (--device cuda) or leave the option out");
  if (s_->warm < warmup_) {
    ++s_->warm;
    ++s_->eager;
    return inner_->run(ctx, x, y);
  }
  if (!s_->graph.captured()) capture(ctx, x, y);
  const bool same = x.sizes() == s_->x.sizes() && y.sizes() == s_->y.sizes() && x.dtype() == s_->x.dtype() &&
                    y.dtype() == s_->y.dtype() && x.device() == s_->x.device();
  if (!same) {
    // The graph's kernels are fixed to the captured shapes; this batch runs eagerly, with its own gradients, and
    // the graph's gradients are put back after it so .grad and the graph agree again.
    StepOutput out = inner_->run(ctx, x, y);
    for (size_t i = 0; i < s_->params.size(); ++i) s_->params[i].mutable_grad() = s_->grads[i];
    ++s_->eager;
    return out;
  }
  s_->x.copy_(x);
  s_->y.copy_(y);
  {
    // The optimizer's host bookkeeping for this step, and its step-dependent values into the graph's buffers.
    ops::GraphPhaseScope phase(s_->hyper, ops::GraphPhase::Preparing);
    s_->hyper.next = 0;
    ctx.optimizer.step();
    KILN_CHECK(s_->hyper.next == s_->hyper.slots.size(),
               "GraphStep: the optimizer updated fewer parameter lists than the captured graph does (",
               s_->hyper.next, " of ", s_->hyper.slots.size(), "); a parameter lost its gradient since the capture");
  }
  s_->graph.replay();
  ++s_->replayed;
  return s_->out;
}
}  // namespace kiln::train
