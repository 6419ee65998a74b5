// Tests for train::TrainStep: PlainStep through fit() equals a hand-written loop bit for bit, custom steps
// (a wrapper, gradient accumulation, a phase override) are the ones fit() runs, and bad steps are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kiln/data/data.h"
#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"
#include "kiln/train/model.h"
#include "kiln/train/train_step.h"
#include "test_util.h"

namespace {
using namespace kiln;
namespace F = kiln::nn::functional;

// 3 Gaussian blobs in 6 dims (centres 3 apart on the first axes): a small classification problem.
std::shared_ptr<data::TensorDataset> blobs(int64_t n, uint64_t seed) {
  Generator g(seed);
  Tensor y = randint(0, 3, {n}, {}, &g);
  Tensor x = randn({n, 6}, {}, &g);
  x = cat({x.narrow(1, 0, 3) + one_hot(y, 3).to(kFloat32) * 3.0, x.narrow(1, 3, 3)}, 1);
  return std::make_shared<data::TensorDataset>(x, y);
}

nn::Sequential mlp(uint64_t init_seed) {
  manual_seed(init_seed);
  return nn::Sequential(nn::Linear(6, 12), nn::ReLU(), nn::Linear(12, 3));
}

// 100 rows in batches of 32: the last batch (4 rows) is short, which a step must handle too.
const auto kLoaderOptions = data::DataLoaderOptions(32).shuffle(true).seed(77);

void expect_same_parameters(const nn::Sequential& a, const nn::Sequential& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(equal(pa[i].second, pb[i].second)) << pa[i].first << " differs";
}

// Counts its calls and the rows it saw, and hands the step to another one: the shape of a wrapper such as
// a CUDA-graph step that falls back to its inner step.
struct CountingStep : train::TrainStep {
  std::shared_ptr<train::TrainStep> inner = std::make_shared<train::PlainStep>();
  int calls = 0;
  int64_t rows = 0;
  train::StepOutput run(const train::StepContext& ctx, const Tensor& x, const Tensor& y) override {
    ++calls;
    rows += x.size(0);
    return inner->run(ctx, x, y);
  }
};

// Gradient accumulation: the batch is run as two micro-batches whose gradients add up in .grad, each loss
// weighted by its share of the rows so the sum is the whole batch's mean loss; the optimizer steps once.
struct TwoMicroBatchStep : train::TrainStep {
  train::StepOutput run(const train::StepContext& ctx, const Tensor& x, const Tensor& y) override {
    ctx.optimizer.zero_grad();
    int64_t n = x.size(0), half = (n + 1) / 2;
    Tensor loss_total;
    std::vector<Tensor> preds;
    for (int64_t start = 0; start < n; start += half) {
      int64_t len = std::min(half, n - start);
      Tensor pred = ctx.forward(x.narrow(0, start, len));
      Tensor loss = ctx.loss_fn(pred, y.narrow(0, start, len)) * (static_cast<double>(len) / static_cast<double>(n));
      loss.backward();
      loss_total = loss_total.defined() ? loss_total + loss.detach() : loss.detach();
      preds.push_back(pred.detach());
    }
    ctx.optimizer.step();
    return {loss_total, cat(preds, 0)};
  }
};

// Overrides one phase of PlainStep: never applies the gradients, as an AMP step does after an overflow.
struct NoUpdateStep : train::PlainStep {
  int updates_skipped = 0;

 protected:
  void update(const train::StepContext&) override { ++updates_skipped; }
};

// Returns nothing, to check that fit() says so instead of failing somewhere inside its bookkeeping.
struct EmptyStep : train::TrainStep {
  train::StepOutput run(const train::StepContext&, const Tensor&, const Tensor&) override { return {}; }
};

train::History fit_with_step(const nn::Sequential& net, std::shared_ptr<train::TrainStep> step, int epochs) {
  train::Model model(net);
  if (step) model.set_train_step(std::move(step));
  model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions(1e-2)),
                train::loss_by_name("cross_entropy"));
  data::DataLoader loader(blobs(100, 3), kLoaderOptions);
  return model.fit(loader, epochs);
}

// The default step must be today's loop exactly: the same parameters, bit for bit, and the same epoch losses
// (summed in the same order, in float64).
TEST(TrainStep, PlainStepThroughFitEqualsHandWrittenLoopBitForBit) {
  auto net_fit = mlp(5);
  train::Model model(net_fit);
  EXPECT_NE(dynamic_cast<train::PlainStep*>(&model.train_step()), nullptr) << "PlainStep is the default";
  model.compile(std::make_shared<optim::Adam>(net_fit->parameters(), optim::AdamOptions(1e-2)),
                train::loss_by_name("cross_entropy"));
  data::DataLoader loader_fit(blobs(100, 3), kLoaderOptions);
  std::vector<double> fit_losses = model.fit(loader_fit, 3).series("loss");

  auto net = mlp(5);
  optim::Adam opt(net->parameters(), optim::AdamOptions(1e-2));
  data::DataLoader loader(blobs(100, 3), kLoaderOptions);
  std::vector<double> losses;
  for (int epoch = 0; epoch < 3; ++epoch) {
    net->train();
    loader.set_epoch(epoch);
    double sum = 0;
    int64_t rows = 0;
    for (auto& batch : loader) {
      opt.zero_grad();
      Tensor loss = F::cross_entropy(net->forward(batch.data), batch.target);
      loss.backward();
      opt.step();
      sum += loss.item<double>() * static_cast<double>(batch.data.size(0));
      rows += batch.data.size(0);
    }
    losses.push_back(sum / static_cast<double>(rows));
  }
  expect_same_parameters(net_fit, net);
  EXPECT_EQ(fit_losses, losses);

  // Setting a PlainStep explicitly changes nothing.
  auto net_explicit = mlp(5);
  fit_with_step(net_explicit, std::make_shared<train::PlainStep>(), 3);
  expect_same_parameters(net_explicit, net);
}

// A wrapper step is the one fit() runs, once per batch with every row, and it survives compile(); since it
// hands the work to a PlainStep the training is unchanged.
TEST(TrainStep, CustomStepIsCalledOncePerBatch) {
  auto counter = std::make_shared<CountingStep>();
  auto net = mlp(5);
  train::Model model(net);
  model.set_train_step(counter);
  model.compile("adam", "cross_entropy", {"accuracy"}, 1e-2);  // set before compile: kept
  EXPECT_EQ(&model.train_step(), counter.get());
  data::DataLoader loader(blobs(100, 3), kLoaderOptions);
  train::History h = model.fit(loader, 2);
  EXPECT_EQ(counter->calls, 2 * 4) << "100 rows in batches of 32 are 4 batches per epoch";
  EXPECT_EQ(counter->rows, 2 * 100);

  auto reference = mlp(5);
  train::History hr = fit_with_step(reference, nullptr, 2);
  expect_same_parameters(net, reference);
  EXPECT_EQ(h.series("loss"), hr.series("loss"));
  EXPECT_EQ(h.series("accuracy"), hr.series("accuracy"));
}

// Accumulating two micro-batches is the full batch's gradient up to rounding: with SGD the parameters and
// losses track the plain run closely, while the forward runs twice per step.
TEST(TrainStep, GradientAccumulationStepMatchesFullBatches) {
  auto run = [](std::shared_ptr<train::TrainStep> step, int* forwards) {
    auto net = mlp(9);
    train::Model model(net.ptr(), [m = net.ptr(), forwards](const Tensor& x) {
      ++*forwards;
      return m->forward(x);
    });
    model.set_train_step(std::move(step));
    model.compile(std::make_shared<optim::SGD>(net->parameters(), optim::SGDOptions(0.1)),
                  train::loss_by_name("cross_entropy"));
    data::DataLoader loader(blobs(100, 4), kLoaderOptions);
    std::vector<double> losses = model.fit(loader, 3).series("loss");
    return std::make_pair(net, losses);
  };
  int plain_forwards = 0, micro_forwards = 0;
  auto [plain_net, plain_losses] = run(std::make_shared<train::PlainStep>(), &plain_forwards);
  auto [micro_net, micro_losses] = run(std::make_shared<TwoMicroBatchStep>(), &micro_forwards);

  EXPECT_EQ(plain_forwards, 3 * 4);
  EXPECT_EQ(micro_forwards, 2 * 3 * 4) << "two micro-batches per step";
  auto pp = plain_net->parameters(), pm = micro_net->parameters();
  ASSERT_EQ(pp.size(), pm.size());
  for (size_t i = 0; i < pp.size(); ++i) kiln::test::expect_close(pm[i], pp[i], 1e-4, 1e-5);
  ASSERT_EQ(micro_losses.size(), plain_losses.size());
  for (size_t i = 0; i < plain_losses.size(); ++i) EXPECT_NEAR(micro_losses[i], plain_losses[i], 1e-5);
  EXPECT_LT(micro_losses.back(), micro_losses.front()) << "the accumulating step still trains";
}

// run() goes through the virtual phases: skipping update() leaves the parameters as initialised while
// backward() still fills the gradients and the loss is still reported.
TEST(TrainStep, PlainStepSubclassOverridesOnePhase) {
  auto step = std::make_shared<NoUpdateStep>();
  auto net = mlp(5), initial = mlp(5);
  train::Model model(net);
  model.set_train_step(step);
  model.compile("sgd", "cross_entropy", {"accuracy"}, 0.5);
  data::DataLoader loader(blobs(100, 3), data::DataLoaderOptions(32));  // no shuffle: every epoch the same
  train::History h = model.fit(loader, 2);
  EXPECT_EQ(step->updates_skipped, 2 * 4);
  expect_same_parameters(net, initial);
  for (auto& p : net->parameters()) EXPECT_TRUE(p.grad().defined()) << "backward() ran";
  ASSERT_EQ(h.epochs.size(), 2u);
  EXPECT_TRUE(std::isfinite(h.epochs[0].loss));
  EXPECT_EQ(h.epochs[0].loss, h.epochs[1].loss) << "unchanged weights on the same batches give the same loss";
}

TEST(TrainStep, NullOrEmptyStepIsRefusedWithAClearMessage) {
  auto net = mlp(5);
  train::Model model(net);
  try {
    model.set_train_step(nullptr);
    FAIL() << "a null step must be refused";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("set_train_step: the step is null"), std::string::npos) << e.what();
  }
  EXPECT_NE(dynamic_cast<train::PlainStep*>(&model.train_step()), nullptr) << "a refused step leaves the old one";

  model.set_train_step(std::make_shared<EmptyStep>());
  model.compile("sgd", "cross_entropy");
  data::DataLoader loader(blobs(10, 3), data::DataLoaderOptions(5));
  try {
    model.fit(loader, 1);
    FAIL() << "a step that returns no loss must be reported";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the train step must return a one-element loss"), std::string::npos)
        << e.what();
  }
}
}  // namespace
