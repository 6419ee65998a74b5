// Tests for fit()'s callbacks: the hook order, EarlyStopping, ModelCheckpoint, CSVLogger and JSONLinesLogger.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/io/checkpoint.h"
#include "kiln/nn/container.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"
#include "kiln/train/callbacks.h"
#include "kiln/train/history.h"
#include "kiln/train/model.h"

namespace {
using namespace kiln;
using train::EpochLogs;

// A folder of its own under /tmp, removed with everything in it when the test ends.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "kiln_callbacks_XXXXXX";
    path = mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A 2-class problem (label = x0 > 0) of 64 rows and a small classifier compiled with SGD at learning rate lr.
struct Fixture {
  Tensor x, y;
  nn::Sequential net{nullptr};
  std::unique_ptr<train::Model> model;
  explicit Fixture(double lr, uint64_t seed = 0) {
    Generator g(seed + 100);
    x = randn({64, 3}, {}, &g);
    y = gt(x.select(1, 0), 0.0).to(kInt64);
    manual_seed(seed);
    net = nn::Sequential(nn::Linear(3, 8), nn::ReLU(), nn::Linear(8, 2));
    model = std::make_unique<train::Model>(net);
    model->compile(std::make_shared<optim::SGD>(net->parameters(), optim::SGDOptions(lr)),
                   train::loss_by_name("cross_entropy"), {"accuracy"});
  }
  train::History fit(int epochs, std::vector<std::shared_ptr<train::Callback>> callbacks, bool shuffle = true,
                     double validation_split = 0) {
    train::FitOptions o;
    o.epochs = epochs;
    o.batch_size = 16;
    o.shuffle = shuffle;
    o.validation_split = validation_split;
    o.callbacks = std::move(callbacks);
    return model->fit(x, y, o);
  }
};

// Records the hooks fit() calls.
struct Recorder : train::Callback {
  std::vector<std::string> calls;
  void on_train_begin(train::Model&) override { calls.push_back("train_begin"); }
  void on_epoch_begin(train::Model&, int e) override { calls.push_back("epoch_begin " + std::to_string(e)); }
  void on_batch_end(train::Model&, int64_t b, int64_t n) override {
    calls.push_back("batch " + std::to_string(b) + "/" + std::to_string(n));
  }
  void on_epoch_end(train::Model&, const EpochLogs& l) override { calls.push_back("epoch_end " + std::to_string(l.epoch)); }
  void on_train_end(train::Model&, const train::History& h) override {
    calls.push_back("train_end " + std::to_string(h.epochs.size()));
  }
};

TEST(TrainCallbacks, HooksAreCalledInOrder) {
  Fixture f(0.1);
  auto rec = std::make_shared<Recorder>();
  f.fit(2, {rec});
  std::vector<std::string> expected = {"train_begin"};
  for (int e = 0; e < 2; ++e) {
    expected.push_back("epoch_begin " + std::to_string(e));
    for (int b = 0; b < 4; ++b) expected.push_back("batch " + std::to_string(b) + "/4");
    expected.push_back("epoch_end " + std::to_string(e));
  }
  expected.push_back("train_end 2");
  EXPECT_EQ(rec->calls, expected);
}

// amend_epoch_logs runs for every callback before any on_epoch_end, so a callback later in the list (and the
// History) sees the amended values: how distributed training shows the ranks' averages.
TEST(TrainCallbacks, AmendedEpochLogsReachEveryCallbackAndTheHistory) {
  struct Replacer : train::Callback {
    void amend_epoch_logs(train::Model&, EpochLogs& l) override { l.loss = 1000 + l.epoch; }
  };
  struct Seen : train::Callback {
    std::vector<double> losses;
    void on_epoch_end(train::Model&, const EpochLogs& l) override { losses.push_back(l.loss); }
  };
  Fixture f(0.1);
  auto seen = std::make_shared<Seen>();
  train::History h = f.fit(2, {seen, std::make_shared<Replacer>()});
  EXPECT_EQ(seen->losses, (std::vector<double>{1000, 1001}));
  ASSERT_EQ(h.epochs.size(), 2u);
  EXPECT_EQ(h.epochs[1].loss, 1001);
}

// With lr 0 and a fixed batch order the epoch loss is exactly the same every epoch, so "loss" cannot improve:
// patience 0 stops after the first epoch that fails to improve (the second).
TEST(EarlyStopping, StopsWhenTheMonitorCannotImprove) {
  Fixture f(0.0);
  auto es = std::make_shared<train::EarlyStopping>("loss", /*patience=*/0);
  train::History h = f.fit(10, {es}, /*shuffle=*/false);
  ASSERT_EQ(h.epochs.size(), 2u);
  EXPECT_EQ(h.epochs[0].loss, h.epochs[1].loss);
  EXPECT_EQ(es->stopped_epoch(), 1);
  EXPECT_TRUE(f.model->stop_training);

  // patience 2 allows two epochs without improvement before stopping.
  auto es2 = std::make_shared<train::EarlyStopping>("loss", 2);
  EXPECT_EQ(f.fit(10, {es2}, false).epochs.size(), 4u);
  EXPECT_EQ(es2->stopped_epoch(), 3);
}

TEST(EarlyStopping, AMissingValidationMonitorNeverImproves) {
  Fixture f(0.1);
  // No validation data: val_loss is NaN every epoch, which never counts as an improvement.
  auto es = std::make_shared<train::EarlyStopping>("val_loss", 0);
  EXPECT_EQ(f.fit(5, {es}).epochs.size(), 1u);
  EXPECT_EQ(es->stopped_epoch(), 0);
}

TEST(EarlyStopping, KeepsTrainingWhileTheMonitorImproves) {
  Fixture f(0.5);
  auto es = std::make_shared<train::EarlyStopping>("val_accuracy", 0, /*min_delta=*/-1.0);  // any value improves
  train::History h = f.fit(4, {es}, true, 0.25);
  EXPECT_EQ(h.epochs.size(), 4u);
  EXPECT_EQ(es->stopped_epoch(), -1);
  EXPECT_FALSE(f.model->stop_training);
  // A stop in one fit() does not leak into the next one.
  auto stopper = std::make_shared<train::EarlyStopping>("val_loss", 0);
  EXPECT_EQ(f.fit(3, {stopper}).epochs.size(), 1u);
  EXPECT_EQ(f.fit(3, {}).epochs.size(), 3u);
}

TEST(EarlyStopping, RejectsBadArguments) {
  EXPECT_THROW(train::EarlyStopping("no_such_metric"), ValueError);
  EXPECT_THROW(train::EarlyStopping("loss", -1), ValueError);
  EXPECT_THROW(train::ModelCheckpoint("x.safetensors", true, "no_such_metric"), ValueError);
}

TEST(ModelCheckpoint, WritesAFileThatLoadCheckpointReads) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string path = dir.path + "/model.safetensors";
  Fixture f(0.1);
  f.model->metadata()["dataset"] = "synthetic";
  f.fit(2, {std::make_shared<train::ModelCheckpoint>(path)});

  ASSERT_TRUE(std::filesystem::exists(path));
  Checkpoint ck = load_checkpoint(path);
  ASSERT_EQ(ck.metadata.count("epoch"), 1u);
  EXPECT_EQ(ck.metadata.at("epoch"), "2") << "epochs completed";
  EXPECT_EQ(ck.metadata.at("dataset"), "synthetic") << "the Model's metadata travels with the checkpoint";
  StateDict state = f.net->state_dict();
  ASSERT_EQ(ck.model.size(), state.size());
  for (auto& [name, t] : state) {
    ASSERT_TRUE(ck.model.count(name)) << name;
    EXPECT_TRUE(equal(ck.model.at(name), t)) << name;
  }
  EXPECT_FALSE(ck.optimizer.empty()) << "the optimizer state is saved with the model";

  // Restoring into a freshly initialised network gives the trained one back.
  manual_seed(77);
  nn::Sequential fresh(nn::Linear(3, 8), nn::ReLU(), nn::Linear(8, 2));
  restore(ck, *fresh);
  auto a = f.net->parameters(), b = fresh->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(equal(a[i], b[i]));
}

TEST(ModelCheckpoint, SaveBestOnlyKeepsTheBestEpoch) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string path = dir.path + "/best.safetensors";
  Fixture f(0.0);  // lr 0: the loss of epoch 0 is never beaten
  f.fit(3, {std::make_shared<train::ModelCheckpoint>(path, /*save_best_only=*/true, "loss")}, /*shuffle=*/false);
  EXPECT_EQ(load_checkpoint(path).metadata.at("epoch"), "1");

  // A monitor with no value (val_loss without validation data) never writes.
  const std::string none = dir.path + "/none.safetensors";
  f.fit(2, {std::make_shared<train::ModelCheckpoint>(none, true, "val_loss")});
  EXPECT_FALSE(std::filesystem::exists(none));
}

TEST(CSVLogger, WritesAHeaderAndOneRowPerEpoch) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string path = dir.path + "/log.csv";
  Fixture f(0.1);
  EpochLogs earlier;
  earlier.epoch = 0;
  earlier.loss = 9.5;
  train::History h = f.fit(3, {std::make_shared<train::CSVLogger>(path, std::vector<EpochLogs>{earlier})});

  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 5u) << "header, the initial row, 3 epochs";
  EXPECT_EQ(lines[0], "epoch,loss,accuracy,val_loss,val_accuracy,seconds,samples_per_second,lr");
  EXPECT_EQ(lines[1].substr(0, 6), "1,9.5,");
  for (size_t i = 0; i < 3; ++i) {
    std::vector<std::string> cells;
    std::stringstream ss(lines[i + 2]);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    ASSERT_EQ(cells.size(), 8u) << lines[i + 2];
    EXPECT_EQ(cells[0], std::to_string(i + 1)) << "epochs are numbered from 1 in the file";
    EXPECT_NEAR(std::stod(cells[1]), h.epochs[i].loss, 1e-5 * std::fabs(h.epochs[i].loss));
    EXPECT_NEAR(std::stod(cells[2]), h.epochs[i].accuracy, 1e-5);
    EXPECT_EQ(cells[3], "nan") << "no validation data";
    EXPECT_DOUBLE_EQ(std::stod(cells[7]), 0.1);
  }
}

TEST(JSONLinesLogger, WritesOneObjectPerEpochAndReadsItBack) {
  ScratchDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string path = dir.path + "/metrics.jsonl";
  Fixture f(0.1);
  train::History h = f.fit(3, {std::make_shared<train::JSONLinesLogger>(path)}, true, 0.25);

  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    nlohmann::json j = nlohmann::json::parse(lines[i]);
    for (const char* key : {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "samples_per_second", "lr"})
      EXPECT_TRUE(j.contains(key)) << key << " missing from " << lines[i];
    EXPECT_EQ(j["epoch"].get<int>(), static_cast<int>(i) + 1);
    EXPECT_EQ(j["loss"].get<double>(), h.epochs[i].loss);
    EXPECT_EQ(j["val_accuracy"].get<double>(), h.epochs[i].val_accuracy);
  }

  // read() gives back what fit() logged (numbers round-trip exactly through JSON).
  std::vector<EpochLogs> back = train::JSONLinesLogger::read(path);
  ASSERT_EQ(back.size(), h.epochs.size());
  for (size_t i = 0; i < back.size(); ++i) {
    const EpochLogs &e = h.epochs[i], &r = back[i];
    EXPECT_EQ(r.epoch, e.epoch);
    EXPECT_EQ(r.loss, e.loss);
    EXPECT_EQ(r.accuracy, e.accuracy);
    EXPECT_EQ(r.val_loss, e.val_loss);
    EXPECT_EQ(r.val_accuracy, e.val_accuracy);
    EXPECT_EQ(r.seconds, e.seconds);
    EXPECT_EQ(r.samples_per_second, e.samples_per_second);
    EXPECT_EQ(r.lr, e.lr);
  }

  // Resuming: the rows read back come first, the new epochs after them; NaN is written as null and read as NaN.
  Fixture g(0.1, 1);
  auto resumed = std::make_shared<train::JSONLinesLogger>(path, back);
  train::History h2 = g.fit(1, {resumed});
  auto all = train::JSONLinesLogger::read(path);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[2].loss, h.epochs[2].loss);
  EXPECT_EQ(all[3].loss, h2.epochs[0].loss);
  EXPECT_TRUE(std::isnan(all[3].val_loss));
  EXPECT_EQ(nlohmann::json::parse(read_lines(path)[3])["val_loss"], nullptr);

  EXPECT_TRUE(train::JSONLinesLogger::read(dir.path + "/missing.jsonl").empty());
  std::ofstream(dir.path + "/bad.jsonl") << "{\"epoch\": 1}\nnot json\n";
  EXPECT_THROW(train::JSONLinesLogger::read(dir.path + "/bad.jsonl"), IOError);
}
}  // namespace
