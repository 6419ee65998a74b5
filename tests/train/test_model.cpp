// Tests for train::Model: fit reaches a stated accuracy, validation_split, evaluate's confusion matrix, predict,
// bit-for-bit resume from a checkpoint, and CUDA training losses against the CPU's.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/data/dataloader.h"
#include "kiln/data/dataset.h"
#include "kiln/io/checkpoint.h"
#include "kiln/nn/container.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/optimizer.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"
#include "kiln/train/callbacks.h"
#include "kiln/train/history.h"
#include "kiln/train/metrics.h"
#include "kiln/train/model.h"
#include "test_util.h"

namespace {
using namespace kiln;

// A folder of its own under /tmp, removed with everything in it when the test ends.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "kiln_model_XXXXXX";
    path = mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

struct Problem {
  Tensor x, y;
};

// Two classes split by the line x0 + x1 = 0, every point pushed `margin` away from it: linearly separable by
// construction, so a small MLP has no excuse for errors beyond optimisation.
Problem separable(int64_t n, uint64_t seed, double margin = 0.5) {
  Generator g(seed);
  Tensor x = randn({n, 2}, {}, &g);
  Tensor label = gt(x.select(1, 0) + x.select(1, 1), 0.0);
  Tensor side = (label.to(kFloat32) * 2.0 - 1.0).reshape({n, 1});  // +1 or -1
  Tensor normal = full({1, 2}, 1.0 / std::sqrt(2.0));
  return {x + side * normal * margin, label.to(kInt64)};
}

// k Gaussian blobs in `features` dims, centres 3 apart on the axes (a 3-class problem with some confusion).
Problem blobs(int64_t n, int64_t k, int64_t features, uint64_t seed) {
  Generator g(seed);
  Tensor y = randint(0, k, {n}, {}, &g);
  Tensor centres = one_hot(y, k).to(kFloat32) * 3.0;  // [n, k]
  Tensor x = randn({n, features}, {}, &g);
  x = cat({x.narrow(1, 0, k) + centres, x.narrow(1, k, features - k)}, 1);
  return {x, y};
}

nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out, uint64_t init_seed) {
  manual_seed(init_seed);
  return nn::Sequential(nn::Linear(in, hidden), nn::ReLU(), nn::Linear(hidden, out));
}

std::shared_ptr<optim::Optimizer> adam(const nn::Sequential& net, double lr) {
  return std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions(lr));
}

// Counts on_batch_end calls per epoch.
struct BatchCounter : train::Callback {
  std::vector<int64_t> batches, totals;
  void on_epoch_begin(train::Model&, int) override { batches.push_back(0); }
  void on_batch_end(train::Model&, int64_t, int64_t num_batches) override {
    ++batches.back();
    totals.push_back(num_batches);
  }
};

TEST(TrainModel, FitReachesHighAccuracyOnSeparableData) {
  Problem train_set = separable(512, 1), test_set = separable(512, 2);
  auto net = mlp(2, 16, 2, 0);
  train::Model model(net);
  model.compile(adam(net, 1e-2), train::loss_by_name("cross_entropy"), {"accuracy"});
  train::FitOptions opts;
  opts.epochs = 10;
  opts.batch_size = 32;
  train::History h = model.fit(train_set.x, train_set.y, opts);

  ASSERT_EQ(h.epochs.size(), 10u);
  for (size_t i = 0; i < h.epochs.size(); ++i) {
    EXPECT_EQ(h.epochs[i].epoch, static_cast<int>(i));
    EXPECT_TRUE(std::isnan(h.epochs[i].val_loss)) << "no validation data was given";
    EXPECT_DOUBLE_EQ(h.epochs[i].lr, 1e-2);
  }
  EXPECT_LT(h.epochs.back().loss, h.epochs.front().loss);
  // The bar: a linearly separable problem with a margin must be learnt to better than 95%, on unseen points too.
  EXPECT_GT(h.epochs.back().accuracy, 0.95);
  train::EvalResult r = model.evaluate(test_set.x, test_set.y);
  EXPECT_EQ(r.samples, 512);
  EXPECT_GT(r.accuracy, 0.95) << "test loss " << r.loss;
}

TEST(TrainModel, FitWithValidationSplitHoldsOutTheLastRows) {
  Problem p = separable(100, 3);
  auto net = mlp(2, 8, 2, 0);
  train::Model model(net);
  model.compile(adam(net, 1e-2), train::loss_by_name("cross_entropy"));
  auto counter = std::make_shared<BatchCounter>();
  train::FitOptions opts;
  opts.epochs = 2;
  opts.batch_size = 32;
  opts.validation_split = 0.2;  // rows 80..99 are validation; 80 training rows -> 3 batches of 32, 32, 16
  opts.callbacks = {counter};
  train::History h = model.fit(p.x, p.y, opts);

  ASSERT_EQ(h.epochs.size(), 2u);
  EXPECT_EQ(counter->batches, (std::vector<int64_t>{3, 3}));
  for (int64_t t : counter->totals) EXPECT_EQ(t, 3);
  for (auto& e : h.epochs) {
    EXPECT_TRUE(std::isfinite(e.val_loss));
    EXPECT_GE(e.val_accuracy, 0.0);
    EXPECT_LE(e.val_accuracy, 1.0);
  }
  // The last epoch's validation numbers are those of the final weights on the held-out tail.
  train::EvalResult tail = model.evaluate(p.x.narrow(0, 80, 20), p.y.narrow(0, 80, 20));
  EXPECT_NEAR(h.epochs.back().val_loss, tail.loss, 1e-9);
  EXPECT_DOUBLE_EQ(h.epochs.back().val_accuracy, tail.accuracy);

  EXPECT_THROW(model.fit(p.x, p.y, [] { train::FitOptions o; o.validation_split = 1.0; return o; }()), ValueError);
  EXPECT_THROW(model.fit(p.x, p.y.narrow(0, 0, 50), train::FitOptions()), ShapeError);
}

TEST(TrainModel, EvaluateConfusionMatrixSumsToSamplesAndMatchesAccuracy) {
  Problem p = blobs(300, 3, 4, 5);
  auto net = mlp(4, 16, 3, 1);
  train::Model model(net);
  model.compile("adam", "cross_entropy", {"accuracy"}, 1e-2);
  train::FitOptions opts;
  opts.epochs = 2;
  model.fit(p.x, p.y, opts);

  train::EvalResult r = model.evaluate(p.x, p.y, /*batch_size=*/64);  // 64 does not divide 300
  EXPECT_TRUE(net->is_training()) << "evaluate restores training mode";
  EXPECT_EQ(r.samples, 300);
  ASSERT_EQ(r.confusion.size(), 3u);
  int64_t total = 0, diagonal = 0;
  for (size_t t = 0; t < 3; ++t) {
    ASSERT_EQ(r.confusion[t].size(), 3u);
    for (size_t q = 0; q < 3; ++q) total += r.confusion[t][q];
    diagonal += r.confusion[t][t];
  }
  EXPECT_EQ(total, 300);
  EXPECT_DOUBLE_EQ(r.accuracy, static_cast<double>(diagonal) / 300.0);

  // An independent count from predict(): rows are the true class, columns the predicted one.
  auto pred = argmax(model.predict(p.x), 1).to_vector<int64_t>();
  auto truth = p.y.to_vector<int64_t>();
  std::vector<std::vector<int64_t>> expected(3, std::vector<int64_t>(3, 0));
  for (size_t i = 0; i < pred.size(); ++i) ++expected[truth[i]][pred[i]];
  EXPECT_EQ(r.confusion, expected);
  // The loss is the mean over all samples, whatever the batching.
  EXPECT_NEAR(r.loss, model.evaluate(p.x, p.y, 300).loss, 1e-6);
  EXPECT_NE(r.confusion_table({"a", "b", "c"}).find("predicted"), std::string::npos);

  // A regression loss has no accuracy and no confusion matrix.
  auto reg = mlp(4, 8, 1, 2);
  train::Model regression(reg);
  regression.compile("sgd", "mse", {});
  train::EvalResult rr = regression.evaluate(p.x, randn({300, 1}));
  EXPECT_TRUE(std::isnan(rr.accuracy));
  EXPECT_TRUE(rr.confusion.empty());
  EXPECT_EQ(rr.samples, 300);
}

TEST(TrainModel, PredictGivesOneRowPerInputInEvalMode) {
  Problem p = blobs(70, 3, 5, 7);
  auto net = mlp(5, 8, 3, 3);
  train::Model model(net);
  model.compile("sgd", "cross_entropy");
  Tensor out = model.predict(p.x, /*batch_size=*/32);  // 32 + 32 + 6
  EXPECT_EQ(out.sizes(), (Shape{70, 3}));
  EXPECT_FALSE(out.requires_grad()) << "predict runs without gradients";
  EXPECT_TRUE(net->is_training()) << "predict restores training mode";
  Tensor direct;
  {
    NoGradGuard g;
    direct = net->forward(p.x);
  }
  kiln::test::expect_close(out, direct, 1e-5, 1e-6);
  EXPECT_EQ(model.predict(p.x.narrow(0, 0, 1)).sizes(), (Shape{1, 3}));
  EXPECT_THROW(model.predict(p.x, 0), ValueError);
}

// A loss that turns nan stops fit at the end of that epoch, naming the epoch and the first bad batch, before
// the epoch's callbacks (a checkpoint callback would save broken weights).
TEST(TrainModel, NonFiniteLossStopsFitNamingTheEpochAndBatch) {
  Problem p = separable(64, 4);
  Tensor x = p.x.clone();
  x.narrow(0, 40, 1).fill_(NAN);  // row 40: batch 2 of 4 with batch_size 16, no shuffling
  auto net = mlp(2, 8, 2, 0);
  train::Model model(net);
  model.compile(adam(net, 1e-2), train::loss_by_name("cross_entropy"));
  auto counter = std::make_shared<BatchCounter>();
  struct EpochEnds : train::Callback {
    int calls = 0;
    void on_epoch_end(train::Model&, const train::EpochLogs&) override { ++calls; }
  };
  auto ends = std::make_shared<EpochEnds>();
  train::FitOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  o.shuffle = false;
  o.callbacks = {counter, ends};
  try {
    model.fit(x, p.y, o);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("non-finite at epoch 0, batch 2 of 4"), std::string::npos) << m;
  }
  EXPECT_EQ(ends->calls, 0);
  EXPECT_EQ(counter->batches, (std::vector<int64_t>{4}));
}

TEST(TrainModel, FitBeforeCompileThrows) {
  auto net = mlp(2, 4, 2, 0);
  train::Model model(net);
  Problem p = separable(16, 0);
  EXPECT_THROW(model.fit(p.x, p.y, train::FitOptions()), ValueError);
  EXPECT_THROW(model.evaluate(p.x, p.y), ValueError);
  EXPECT_THROW(model.compile("sgd", "no_such_loss"), ValueError);
  EXPECT_THROW(model.compile("no_such_optimizer", "mse"), ValueError);
}

// Training 2 epochs in one fit() must equal, bit for bit, training epoch 0, checkpointing, and resuming into a
// fresh model and optimizer from initial_epoch = 1 with a DataLoader of the same seed: the shuffle order is a
// function of (seed, epoch) and Adam's moments and step counts travel in the checkpoint.
TEST(TrainModel, ResumeFromCheckpointEqualsOneRunBitForBit) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string path = dir.path + "/ckpt.safetensors";
  Problem p = blobs(200, 3, 6, 11);
  auto ds = std::make_shared<data::TensorDataset>(p.x, p.y);
  auto loader_opts = data::DataLoaderOptions(16).shuffle(true).seed(1234);
  auto compile = [](train::Model& m, const nn::Sequential& net) {
    m.compile(adam(net, 5e-3), train::loss_by_name("cross_entropy"), {"accuracy"});
  };

  auto net_a = mlp(6, 12, 3, 42);
  train::Model a(net_a);
  compile(a, net_a);
  data::DataLoader loader_a(ds, loader_opts);
  train::History ha = a.fit(loader_a, 2);
  ASSERT_EQ(ha.epochs.size(), 2u);

  auto net_b = mlp(6, 12, 3, 42);
  train::Model b(net_b);
  compile(b, net_b);
  data::DataLoader loader_b(ds, loader_opts);
  train::History hb = b.fit(loader_b, 1, nullptr, {std::make_shared<train::ModelCheckpoint>(path)});
  ASSERT_EQ(hb.epochs.size(), 1u);
  EXPECT_EQ(hb.epochs[0].loss, ha.epochs[0].loss);

  // A different initialisation, so only the checkpoint can make it agree.
  auto net_c = mlp(6, 12, 3, 99);
  train::Model c(net_c);
  compile(c, net_c);
  EXPECT_FALSE(equal(net_c->parameters()[0], net_b->parameters()[0]));
  Checkpoint ck = load_checkpoint(path);
  ASSERT_EQ(ck.metadata.count("epoch"), 1u);
  int initial_epoch = std::stoi(ck.metadata.at("epoch"));
  EXPECT_EQ(initial_epoch, 1);
  restore(ck, c.module(), c.optimizer());
  data::DataLoader loader_c(ds, loader_opts);
  train::History hc = c.fit(loader_c, 2, nullptr, {}, initial_epoch);

  ASSERT_EQ(hc.epochs.size(), 1u);
  EXPECT_EQ(hc.epochs[0].epoch, 1);
  EXPECT_EQ(hc.epochs[0].loss, ha.epochs[1].loss);
  EXPECT_EQ(hc.epochs[0].accuracy, ha.epochs[1].accuracy);
  auto pa = net_a->named_parameters(), pc = net_c->named_parameters();
  ASSERT_EQ(pa.size(), pc.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].first, pc[i].first);
    EXPECT_TRUE(equal(pa[i].second, pc[i].second)) << pa[i].first << " differs after resuming";
  }
  // The optimizer states agree too (step counts and moments), so a third epoch would also match.
  StateDict sa = a.optimizer()->state_dict(), sc = c.optimizer()->state_dict();
  ASSERT_EQ(sa.size(), sc.size());
  for (auto& [key, value] : sa) {
    ASSERT_TRUE(sc.count(key)) << key;
    EXPECT_TRUE(equal(value, sc.at(key))) << "optimizer state " << key;
  }
}

// A small MLP training run, the numbers an example prints: the same seed gives per-epoch losses on the
// device within float32 tolerance of the CPU's (1e-4 relative), and the CPU run repeats exactly.
class TrainModelDevice : public kiln::test::DeviceTest {};

std::vector<double> mlp_run(Device device) {
  Problem p = blobs(256, 3, 8, 21);
  auto net = mlp(8, 32, 3, 5);  // initialised on the CPU from the seed, then moved: the same start everywhere
  net->to(device);
  train::Model model(net);
  model.compile(adam(net, 1e-2), train::loss_by_name("cross_entropy"), {"accuracy"});
  auto ds = std::make_shared<data::TensorDataset>(p.x, p.y);
  data::DataLoader loader(ds, data::DataLoaderOptions(32).shuffle(true).seed(8));
  std::vector<double> out = model.fit(loader, 4).series("loss");
  out.push_back(model.evaluate(p.x, p.y).loss);
  EXPECT_EQ(model.device(), device.is_cuda() ? resolve_device(device) : device);
  return out;
}

TEST_P(TrainModelDevice, MlpLossesPerEpochMatchCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  std::vector<double> cpu = mlp_run(Device("cpu"));
  std::vector<double> got = mlp_run(dev());
  ASSERT_EQ(cpu.size(), got.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    ASSERT_TRUE(std::isfinite(cpu[i]));
    if (GetParam().is_cpu()) EXPECT_EQ(got[i], cpu[i]) << "a CPU run must repeat exactly (entry " << i << ")";
    else EXPECT_NEAR(got[i], cpu[i], 1e-4 * std::fabs(cpu[i])) << "epoch " << i << " (last entry: evaluate)";
  }
  EXPECT_LT(cpu[3], cpu[0]) << "the run should learn something";
}
INSTANTIATE_DEVICE_TESTS(TrainModelDevice);
}  // namespace
