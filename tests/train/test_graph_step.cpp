// CUDA graphs: cuda::CUDAGraph (capture, replay, private memory, refusals) and train::GraphStep (a captured training
// step replayed per batch matches eager training, schedulers included). The host logic of the optimizers' graph
// phases runs on the CPU too; everything that captures needs a GPU and skips without one.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/cuda/graph.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/rmsprop.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/train/amp_step.h"
#include "kiln/train/graph_step.h"
#include "ops/optim/graph_hyper.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln {
namespace {
namespace F = nn::functional;
using test::message_of;

const Device kGpu("cuda:0");

nn::Sequential small_net() {
  return nn::Sequential(nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 4));
}

// ---- host logic, on the CPU ----

TEST(GraphStepHost, RefusesABatchOffTheGpu) {
  nn::Sequential net = small_net();
  optim::Adam opt(net->parameters(), optim::AdamOptions(1e-2));
  train::ForwardFn fwd = [&](const Tensor& x) { return net->forward(x); };
  train::LossFn loss = [](const Tensor& p, const Tensor& t) { return F::cross_entropy(p, t); };
  train::StepContext ctx{*net, fwd, loss, opt};
  train::GraphStep step;
  EXPECT_THROW_WITH(step.run(ctx, randn({4, 8}), randint(0, 4, {4})), DeviceError, "--cuda-graph", "cpu");
}

// In the capture phase an update must go to the device buffers of one multi-tensor launch: a CPU parameter (or
// an optimizer without graph support) is refused by name, and Adam does not count the step it only records.
TEST(GraphStepHost, OptimizerCapturePhaseRefusesWhatItCannotReplay) {
  nn::Sequential net = small_net();
  for (Tensor p : net->parameters()) p.mutable_grad() = ones_like(p);
  ops::GraphHyper hyper;
  optim::Adam adam(net->parameters(), optim::AdamOptions(1e-2));
  {
    ops::GraphPhaseScope phase(hyper, ops::GraphPhase::Capturing);
    EXPECT_THROW_WITH(adam.step(), Error, "Adam", "no optimizer state yet");  // its zeros would be captured
  }
  adam.step();
  {
    ops::GraphPhaseScope phase(hyper, ops::GraphPhase::Capturing);
    EXPECT_THROW_WITH(adam.step(), Error, "Adam", "one GPU");
  }
  optim::RMSprop rms(net->parameters(), optim::RMSpropOptions(1e-2));
  {
    ops::GraphPhaseScope phase(hyper, ops::GraphPhase::Capturing);
    EXPECT_THROW_WITH(rms.step(), Error, "RMSprop cannot be captured");
  }
  optim::SGD sgd(net->parameters(), optim::SGDOptions(1e-2).momentum(0.9));
  {
    ops::GraphPhaseScope phase(hyper, ops::GraphPhase::Capturing);
    EXPECT_THROW_WITH(sgd.step(), Error, "first step");
  }
  EXPECT_EQ(ops::graph_phase(), ops::GraphPhase::Eager);  // the scopes put the phase back
}

// Preparing a replay runs the optimizer's host bookkeeping and uploads each update's values, in capture order,
// into its buffer; an update the capture did not have is refused.
TEST(GraphStepHost, PreparingUploadsTheStepValuesInsteadOfUpdating) {
  nn::Sequential net = small_net();
  std::vector<Tensor> before;
  for (Tensor p : net->parameters()) {
    p.mutable_grad() = ones_like(p);
    before.push_back(p.clone());
  }
  optim::Adam adam(net->parameters(), optim::AdamOptions(0.1));
  ops::GraphHyper hyper;
  hyper.slots.push_back({zeros({3}, TensorOptions(kFloat64)), net->parameters().size()});
  {
    ops::GraphPhaseScope phase(hyper, ops::GraphPhase::Preparing);
    adam.step();
  }
  EXPECT_EQ(hyper.next, 1u);
  // Step 1: step_size = lr / (1 - 0.9), bias_correction2_sqrt = sqrt(1 - 0.999), decay = 1.
  test::expect_values(hyper.slots[0].values, {0.1 / (1 - 0.9), std::sqrt(1 - 0.999), 1.0}, 1e-12);
  const std::vector<Tensor> params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(params[i].equal(before[i])) << "parameter " << i;
  hyper.next = 0;
  hyper.slots[0].entries = 1;  // a capture that updated another list
  ops::GraphPhaseScope phase(hyper, ops::GraphPhase::Preparing);
  EXPECT_THROW_WITH(adam.step(), Error, "differ from those of the captured CUDA graph");
}

// ---- on a GPU ----

TEST(CUDAGraphTest, ReplaysWhatItCapturedOnTheCurrentInputs) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor x = ones({1000}, TensorOptions().device(kGpu));
  Tensor y;
  cuda::CUDAGraph g;
  g.capture([&] { y = add(mul(x, 2.0), 1.0); });
  EXPECT_TRUE(g.captured());
  EXPECT_GE(g.num_nodes(), 2);
  x.fill_(3.0);
  g.replay();
  test::expect_values(y.to(kCPU).narrow(0, 0, 3), {7.0, 7.0, 7.0}, 0);
  x.fill_(-1.0);
  g.replay();
  test::expect_values(y.to(kCPU).narrow(0, 997, 3), {-1.0, -1.0, -1.0}, 0);
  // The graph's memory is its own: an eager tensor of the same size does not land on its output.
  Tensor other = empty({1000}, TensorOptions().device(kGpu));
  EXPECT_NE(other.data_ptr(), y.data_ptr());
  EXPECT_THROW_WITH(g.capture([] {}), Error, "reset()");
  g.reset();
  EXPECT_FALSE(g.captured());
  EXPECT_THROW_WITH(g.replay(), Error, "nothing has been captured");
}

TEST(CUDAGraphTest, RefusesHostWaitsRandomDrawsAndHostCopiesByName) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor x = ones({16}, TensorOptions().device(kGpu));
  cuda::CUDAGraph g;
  EXPECT_THROW_WITH(g.capture([&] { (void)sum(x).item<double>(); }), Error, "cannot capture a copy between host");
  EXPECT_THROW_WITH(g.capture([&] { cuda::synchronize(); }), Error, "cannot capture a host wait");
  EXPECT_FALSE(g.captured());
  EXPECT_THROW_WITH(g.capture([&] { (void)randn({16}, TensorOptions().device(kGpu)); }), Error, "random numbers");
  EXPECT_THROW_WITH(g.capture([&] { (void)ones({16}).to(kGpu); }), Error, "cannot capture a copy between host");
  nn::Sequential net = small_net();
  net->to(kGpu);
  for (Tensor p : net->parameters()) p.mutable_grad() = ones_like(p);
  optim::Adam adam(net->parameters(), optim::AdamOptions(1e-2));
  EXPECT_THROW_WITH(g.capture([&] { adam.step(); }), Error, "needs train::GraphStep");
  // After the refusals the device works and a capture succeeds.
  g.capture([&] { x.mul_(2.0); });
  g.replay();
  EXPECT_EQ(sum(x).item<double>(), 32.0);
}

struct TrainRun {
  std::vector<Tensor> params;
  std::vector<double> losses;
  int64_t replayed = 0;
};

// Trains a fresh copy of the same net on the same batches with `step`, changing the learning rate after every
// fourth batch (as a scheduler would); the last batch is smaller, so GraphStep runs it eagerly.
template <typename MakeOpt>
TrainRun train_with(std::shared_ptr<train::TrainStep> step, const MakeOpt& make_opt) {
  manual_seed(7);
  nn::Sequential net = small_net();
  net->to(kGpu);
  std::unique_ptr<optim::Optimizer> opt = make_opt(net->parameters());
  train::ForwardFn fwd = [&](const Tensor& x) { return net->forward(x); };
  train::LossFn loss_fn = [](const Tensor& p, const Tensor& t) { return F::cross_entropy(p, t); };
  train::StepContext ctx{*net, fwd, loss_fn, *opt};
  manual_seed(8);
  TrainRun r;
  for (int b = 0; b < 13; ++b) {
    const int64_t n = b == 12 ? 5 : 16;
    Tensor x = randn({n, 8}).to(kGpu), y = randint(0, 4, {n}).to(kGpu);
    if (b > 0 && b % 4 == 0)
      for (auto& g : opt->param_groups()) g.options().set_lr(g.options().get_lr() * 0.5);
    r.losses.push_back(step->run(ctx, x, y).loss.item<double>());
  }
  for (const Tensor& p : net->parameters()) r.params.push_back(p.to(kCPU));
  if (auto* g = dynamic_cast<train::GraphStep*>(step.get())) r.replayed = g->replayed_steps();
  return r;
}

void expect_same_training(const TrainRun& eager, const TrainRun& graph, double tol) {
  ASSERT_EQ(eager.losses.size(), graph.losses.size());
  for (size_t i = 0; i < eager.losses.size(); ++i) EXPECT_NEAR(graph.losses[i], eager.losses[i], tol) << "batch " << i;
  for (size_t i = 0; i < eager.params.size(); ++i) test::expect_close(graph.params[i], eager.params[i], tol, tol);
}

TEST(GraphStepCUDA, AdamAndAdamWTrainAsEagerStepsWithAChangingLearningRate) {
  KILN_SKIP_WITHOUT_GPU();
  for (bool decoupled : {false, true}) {
    SCOPED_TRACE(decoupled ? "AdamW" : "Adam");
    auto make = [&](const std::vector<Tensor>& ps) -> std::unique_ptr<optim::Optimizer> {
      if (decoupled) return std::make_unique<optim::AdamW>(ps, optim::AdamWOptions(1e-2).weight_decay(0.1));
      return std::make_unique<optim::Adam>(ps, optim::AdamOptions(1e-2).weight_decay(0.01));
    };
    TrainRun eager = train_with(std::make_shared<train::PlainStep>(), make);
    TrainRun graph = train_with(std::make_shared<train::GraphStep>(), make);
    EXPECT_EQ(graph.replayed, 9);  // 13 batches: 3 warm-up steps, 9 replays (the first after the capture), 1 smaller
    expect_same_training(eager, graph, 1e-5);
  }
}

TEST(GraphStepCUDA, SgdWithMomentumAndBfloat16AutocastTrainAsEagerSteps) {
  KILN_SKIP_WITHOUT_GPU();
  auto sgd = [](const std::vector<Tensor>& ps) -> std::unique_ptr<optim::Optimizer> {
    return std::make_unique<optim::SGD>(ps, optim::SGDOptions(0.05).momentum(0.9).nesterov(true));
  };
  expect_same_training(train_with(std::make_shared<train::PlainStep>(), sgd),
                       train_with(std::make_shared<train::GraphStep>(), sgd), 1e-5);
  auto adam = [](const std::vector<Tensor>& ps) -> std::unique_ptr<optim::Optimizer> {
    return std::make_unique<optim::Adam>(ps, optim::AdamOptions(1e-2));
  };
  expect_same_training(train_with(std::make_shared<train::AmpStep>(kBFloat16), adam),
                       train_with(std::make_shared<train::GraphStep>(std::make_shared<train::AmpStep>(kBFloat16)), adam),
                       1e-3);
}

TEST(GraphStepCUDA, RefusesAStepItCannotReplayAtTheCapture) {
  KILN_SKIP_WITHOUT_GPU();
  auto rms = [](const std::vector<Tensor>& ps) -> std::unique_ptr<optim::Optimizer> {
    return std::make_unique<optim::RMSprop>(ps, optim::RMSpropOptions(1e-2));
  };
  EXPECT_THROW_WITH(train_with(std::make_shared<train::GraphStep>(), rms), Error, "RMSprop cannot be captured");
  auto adam = [](const std::vector<Tensor>& ps) -> std::unique_ptr<optim::Optimizer> {
    return std::make_unique<optim::Adam>(ps, optim::AdamOptions(1e-2));
  };
  EXPECT_THROW_WITH(train_with(std::make_shared<train::GraphStep>(std::make_shared<train::AmpStep>(kFloat16)), adam),
                    Error, "cannot capture");
}
}  // namespace
}  // namespace kiln
