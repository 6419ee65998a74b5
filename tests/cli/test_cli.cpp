// End-to-end tests of the built `kiln` binary: info/train/eval output, files written, resume through the CLI,
// and clear, non-crashing failures on bad input.
#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"
#include "kiln/cuda/cuda.h"
#include "kiln/data/datasets.h"
#include "kiln/io/checkpoint.h"
#include "kiln/nn/container.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/train/callbacks.h"

namespace {
using namespace kiln;
namespace fs = std::filesystem;
using nlohmann::json;

using test::kiln_binary;
using test::slurp;
using Result = test::CliResult;

size_t count_lines(const std::string& path) {
  std::ifstream f(path);
  size_t n = 0;
  for (std::string line; std::getline(f, line);) n += !line.empty();
  return n;
}

bool has_idx(const std::string& dir, const std::string& name) {
  return fs::exists(dir + "/" + name) || fs::exists(dir + "/" + name + ".gz");
}

// The suite shares one scratch folder and one short Fashion-MNIST run (train, eval and the output checks all
// read it), so the whole file stays well under a minute on 2 cores.
class KilnCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    binary_ = kiln_binary();
    std::string tmpl = ::testing::TempDir() + "kiln_cli_XXXXXX";
    root_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
    fashion_.reset();
  }
  void SetUp() override {
    if (binary_.empty() || !fs::exists(binary_))
      GTEST_SKIP() << "the kiln binary is not at '" << binary_
                   << "' (expected <build>/bin/kiln next to <build>/tests/kiln_tests): build the kiln_cli target";
    ASSERT_FALSE(root_.empty()) << "could not create a scratch folder";
  }

  // Runs `kiln args` (args are shell words: quote paths) with stdout and stderr captured.
  static Result run(const std::string& args) {
    static int counter = 0;
    return test::run_cli(binary_, args, root_ + "/run" + std::to_string(counter++));
  }

  static std::string fashion_dir() { return data::default_fashion_mnist_dir(); }
  static bool have_fashion() {
    return has_idx(fashion_dir(), "train-images-idx3-ubyte") && has_idx(fashion_dir(), "t10k-images-idx3-ubyte");
  }

  // A tiny MNIST-format dataset (random pixels, labels i % 10), for the tests that only need the CLI to get
  // past loading data: they then run without Fashion-MNIST installed, and fast.
  static std::string tiny_dataset() {
    const std::string dir = root_ + "/tiny";
    if (!fs::exists(dir + "/t10k-labels-idx1-ubyte")) test::write_tiny_mnist(dir, 64, 32);
    return dir;
  }

  // `kiln train --device cpu --epochs 1 --limit 6000 --json`, run once for the suite.
  struct FashionRun {
    Result result;
    std::string out_dir;
  };
  static const FashionRun& fashion_run() {
    if (!fashion_) {
      fashion_ = std::make_unique<FashionRun>();
      fashion_->out_dir = root_ + "/fashion";
      fashion_->result = run("train --device cpu --epochs 1 --limit 6000 --json --out '" + fashion_->out_dir + "'");
    }
    return *fashion_;
  }

  static std::string binary_, root_;
  static std::unique_ptr<FashionRun> fashion_;
};
std::string KilnCli::binary_, KilnCli::root_;
std::unique_ptr<KilnCli::FashionRun> KilnCli::fashion_;

#define SKIP_WITHOUT_FASHION()                                                                                 \
  do {                                                                                                         \
    if (!have_fashion())                                                                                       \
      GTEST_SKIP() << "Fashion-MNIST is not in " << fashion_dir() << " (install Debian's dataset-fashion-mnist)"; \
  } while (0)

// Checks a failure is a clean one: exit status 1 (kiln::Error, caught in main), not 2 (an unexpected
// std::exception) nor a signal, with "kiln: error:" and every one of `needles` on stderr.
void expect_clean_failure(const Result& r, const std::vector<std::string>& needles) {
  ASSERT_TRUE(r.exited) << "kiln crashed\n" << r.describe();
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_NE(r.err.find("kiln: error:"), std::string::npos) << r.describe();
  for (auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "stderr should mention '" << n << "'\n" << r.describe();
}

TEST_F(KilnCli, InfoJsonHasTheDocumentedKeys) {
  Result r = run("info --json");
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  json j = r.last_json();
  ASSERT_TRUE(j.is_object()) << r.describe();
  for (const char* key : {"kiln_version", "build", "cuda_available", "cuda_runtime_version", "cuda_driver_version",
                          "device_count", "gpus", "cuda_visible_devices", "best_device"})
    EXPECT_TRUE(j.contains(key)) << "missing key " << key << " in " << j.dump();
  for (const char* key : {"cuda", "cuda_architectures", "blas", "cpu_threads"})
    EXPECT_TRUE(j["build"].contains(key)) << "missing key build." << key;
  EXPECT_EQ(j["cuda_available"].get<bool>(), cuda::is_available());
  EXPECT_EQ(j["device_count"].get<int>(), cuda::device_count());
  EXPECT_EQ(j["gpus"].size(), static_cast<size_t>(cuda::device_count()));
  EXPECT_EQ(j["best_device"], cuda::is_available() ? "cuda:0" : "cpu");
  if (!cuda::is_available()) EXPECT_TRUE(j["unavailable_reason"].is_string()) << "the JSON should say why there is no GPU";
  // The human-readable form works too.
  Result text = run("info");
  EXPECT_TRUE(text.exited && text.code == 0) << text.describe();
  EXPECT_NE(text.out.find("best device"), std::string::npos) << text.describe();
}

TEST_F(KilnCli, TrainJsonReportsTheRun) {
  SKIP_WITHOUT_FASHION();
  const FashionRun& f = fashion_run();
  ASSERT_TRUE(f.result.exited && f.result.code == 0) << f.result.describe();
  json j = f.result.last_json();
  ASSERT_TRUE(j.is_object()) << "the last stdout line should be JSON\n" << f.result.describe();
  // The bar for this short run: one epoch on 6000 images already classifies Fashion-MNIST far above 10% chance.
  EXPECT_GT(j["test_accuracy"].get<double>(), 0.70) << j.dump();
  EXPECT_TRUE(j["test_loss"].is_number());
  EXPECT_EQ(j["epochs"].get<int>(), 1);
  EXPECT_GT(j["seconds"].get<double>(), 0.0);
  EXPECT_GT(j["samples_per_second"].get<double>(), 0.0);
  EXPECT_EQ(j["device"], "cpu");
}

TEST_F(KilnCli, TrainWritesCheckpointMetricsAndPlot) {
  SKIP_WITHOUT_FASHION();
  const FashionRun& f = fashion_run();
  ASSERT_TRUE(f.result.exited && f.result.code == 0) << f.result.describe();
  const std::string ckpt = f.out_dir + "/checkpoint.safetensors";
  ASSERT_TRUE(fs::exists(ckpt));
  Checkpoint ck = load_checkpoint(ckpt);
  EXPECT_EQ(ck.metadata.at("epoch"), "1");
  EXPECT_EQ(ck.metadata.at("dataset"), "fashion-mnist");
  EXPECT_FALSE(ck.optimizer.empty());

  EXPECT_EQ(count_lines(f.out_dir + "/metrics.jsonl"), 1u);
  std::ifstream metrics(f.out_dir + "/metrics.jsonl");
  std::string line;
  std::getline(metrics, line);
  json m = json::parse(line, nullptr, false);
  ASSERT_TRUE(m.is_object()) << line;
  EXPECT_EQ(m["epoch"], 1);
  EXPECT_TRUE(m["loss"].is_number());

  std::string png = slurp(f.out_dir + "/curves.png");
  ASSERT_GE(png.size(), 8u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << "curves.png lacks the PNG signature";
}

TEST_F(KilnCli, EvalReportsTheSameAccuracyAsTrain) {
  SKIP_WITHOUT_FASHION();
  const FashionRun& f = fashion_run();
  ASSERT_TRUE(f.result.exited && f.result.code == 0) << f.result.describe();
  json t = f.result.last_json();
  Result r = run("eval --device cpu --json --checkpoint '" + f.out_dir + "/checkpoint.safetensors'");
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  json e = r.last_json();
  ASSERT_TRUE(e.is_object()) << r.describe();
  EXPECT_EQ(e["accuracy"].get<double>(), t["test_accuracy"].get<double>());
  EXPECT_NEAR(e["loss"].get<double>(), t["test_loss"].get<double>(), 1e-9);
  EXPECT_EQ(e["samples"].get<int64_t>(), 10000);
  int64_t total = 0;
  for (auto& row : e["confusion"])
    for (auto& v : row) total += v.get<int64_t>();
  EXPECT_EQ(total, 10000);
  EXPECT_EQ(e["classes"].size(), 10u);
}

// Two epochs in one run equal one epoch followed by `--epochs 2 --resume` in another folder.
TEST_F(KilnCli, ResumeMatchesAnUninterruptedRun) {
  SKIP_WITHOUT_FASHION();
  const std::string common = "train --device cpu --limit 3000 --json";
  const std::string a = root_ + "/straight", b = root_ + "/resumed";
  Result straight = run(common + " --epochs 2 --out '" + a + "'");
  ASSERT_TRUE(straight.exited && straight.code == 0) << straight.describe();
  Result first = run(common + " --epochs 1 --out '" + b + "'");
  ASSERT_TRUE(first.exited && first.code == 0) << first.describe();
  Result second = run(common + " --epochs 2 --resume --out '" + b + "'");
  ASSERT_TRUE(second.exited && second.code == 0) << second.describe();

  json ja = straight.last_json(), jb = second.last_json();
  ASSERT_TRUE(ja.is_object() && jb.is_object());
  EXPECT_EQ(jb["epochs_run"].get<int>(), 1) << "the resumed run trains only the missing epoch";
  EXPECT_EQ(ja["test_accuracy"].get<double>(), jb["test_accuracy"].get<double>());
  EXPECT_EQ(ja["test_loss"].get<double>(), jb["test_loss"].get<double>());
  EXPECT_EQ(count_lines(b + "/metrics.jsonl"), 2u) << "the resumed metrics keep the first run's epoch";
  EXPECT_EQ(load_checkpoint(b + "/checkpoint.safetensors").metadata.at("epoch"), "2");
}

// The whole pipeline on a tiny generated dataset: runs even where Fashion-MNIST is not installed.
TEST_F(KilnCli, TrainAndEvalOnATinyMnistFolder) {
  const std::string data = tiny_dataset(), out = root_ + "/tiny_run";
  Result r = run("train --device cpu --dataset mnist --data '" + data + "' --epochs 2 --hidden 8 --json --out '" + out + "'");
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  json j = r.last_json();
  ASSERT_TRUE(j.is_object()) << r.describe();
  EXPECT_EQ(j["epochs"], 2);
  EXPECT_EQ(count_lines(out + "/metrics.jsonl"), 2u);
  Result e = run("eval --device cpu --json --data '" + data + "' --checkpoint '" + out + "/checkpoint.safetensors'");
  ASSERT_TRUE(e.exited && e.code == 0) << e.describe();
  EXPECT_EQ(e.last_json()["samples"], 32);
  EXPECT_EQ(e.last_json()["accuracy"].get<double>(), j["test_accuracy"].get<double>());
  // `predict` is an alias of `eval`; without --json it prints the accuracy and the confusion matrix as text.
  Result text = run("predict --device cpu --data '" + data + "' --checkpoint '" + out + "/checkpoint.safetensors'");
  ASSERT_TRUE(text.exited && text.code == 0) << text.describe();
  EXPECT_NE(text.out.find("accuracy"), std::string::npos) << text.describe();
  EXPECT_NE(text.out.find("confusion matrix"), std::string::npos) << text.describe();
}

// A kill between the checkpoint's save and the metrics write loses that epoch's row; resume restores it from
// the checkpoint, so metrics.jsonl ends with one row per epoch.
TEST_F(KilnCli, ResumeRestoresAMetricsRowLostToAKill) {
  const std::string data = tiny_dataset(), out = root_ + "/killed";
  const std::string common = "train --device cpu --dataset mnist --data '" + data + "' --hidden 8 --out '" + out + "'";
  Result first = run(common + " --epochs 2");
  ASSERT_TRUE(first.exited && first.code == 0) << first.describe();
  std::string rows = slurp(out + "/metrics.jsonl");
  rows = rows.substr(0, rows.find('\n') + 1);  // as if killed after epoch 2's checkpoint, before its row
  std::ofstream(out + "/metrics.jsonl", std::ios::trunc) << rows;
  Result resumed = run(common + " --epochs 3 --resume");
  ASSERT_TRUE(resumed.exited && resumed.code == 0) << resumed.describe();
  EXPECT_EQ(count_lines(out + "/metrics.jsonl"), 3u);
  const auto logs = train::JSONLinesLogger::read(out + "/metrics.jsonl");
  ASSERT_EQ(logs.size(), 3u);
  for (int e = 0; e < 3; ++e) EXPECT_EQ(logs[e].epoch, e);
}

// Every option takes effect or is refused with a message naming it.
TEST_F(KilnCli, InvalidTrainOptionsAreRefused) {
  const std::string out = " --out '" + root_ + "/refused'";
  expect_clean_failure(run("train --device cpu --lr inf" + out), {"--lr", "inf"});
  expect_clean_failure(run("train --device cpu --lr nan" + out), {"--lr"});
  expect_clean_failure(run("train --device cpu --lr 0" + out), {"--lr"});
  expect_clean_failure(run("train --device cpu --out ''"), {"--out", "empty"});
  expect_clean_failure(run("train --device cpu --limit -1" + out), {"--limit", "-1"});
  expect_clean_failure(run("train --device cpu --workers -5" + out), {"--workers", "-5"});
  expect_clean_failure(run("train --device cpu --cuda-graph" + out), {"--cuda-graph", "CUDA device", "cpu"});
}

// A learning rate that blows the weights up stops training with the epoch and batch named, exit 1, and no
// checkpoint of the broken weights.
TEST_F(KilnCli, NonFiniteLossStopsTrainingAndNamesTheBatch) {
  const std::string data = tiny_dataset(), out = root_ + "/exploded";
  Result r = run("train --device cpu --dataset mnist --data '" + data +
                 "' --optimizer sgd --lr 1e38 --batch-size 8 --epochs 2 --hidden 8 --out '" + out + "'");
  expect_clean_failure(r, {"non-finite at epoch 0, batch"});
  EXPECT_FALSE(std::filesystem::exists(out + "/checkpoint.safetensors"));
}

// --lr with --resume replaces the checkpoint's rate, and the new checkpoint says so.
TEST_F(KilnCli, LrWithResumeTakesEffect) {
  const std::string data = tiny_dataset(), out = root_ + "/relr";
  const std::string common = "train --device cpu --dataset mnist --data '" + data + "' --hidden 8 --out '" + out + "'";
  Result first = run(common + " --epochs 1 --lr 0.001");
  ASSERT_TRUE(first.exited && first.code == 0) << first.describe();
  Result second = run(common + " --epochs 2 --resume --lr 0.05");
  ASSERT_TRUE(second.exited && second.code == 0) << second.describe();
  EXPECT_EQ(std::stod(load_checkpoint(out + "/checkpoint.safetensors").metadata.at("lr")), 0.05);
  Result third = run(common + " --epochs 3 --resume");  // without --lr: the checkpoint's rate continues
  ASSERT_TRUE(third.exited && third.code == 0) << third.describe();
  EXPECT_EQ(std::stod(load_checkpoint(out + "/checkpoint.safetensors").metadata.at("lr")), 0.05);
}

TEST_F(KilnCli, MissingDataFolderNamesTheMissingFile) {
  Result r = run("train --device cpu --data /nonexistent --out '" + root_ + "/nodata'");
  expect_clean_failure(r, {"/nonexistent", "train-images-idx3-ubyte"});
}

TEST_F(KilnCli, UnavailableGpuIsADeviceErrorMessage) {
  if (cuda::device_count() > 7) GTEST_SKIP() << "this machine has a cuda:7";
  Result r = run("train --device cuda:7 --out '" + root_ + "/nogpu'");
  // DeviceError's text: either "cannot use device 'cuda:7': <why no GPU>" or "device 'cuda:7' does not exist".
  expect_clean_failure(r, {"cuda:7"});
  EXPECT_TRUE(r.err.find("cannot use device") != std::string::npos || r.err.find("does not exist") != std::string::npos)
      << r.describe();
}

TEST_F(KilnCli, BadHiddenWidthsAreRejected) {
  Result r = run("train --device cpu --dataset mnist --data '" + tiny_dataset() + "' --hidden 12,x --out '" + root_ +
                 "/badhidden'");
  expect_clean_failure(r, {"--hidden", "12,x"});
}

TEST_F(KilnCli, UnknownOptimizerIsRejected) {
  Result r = run("train --device cpu --dataset mnist --data '" + tiny_dataset() + "' --optimizer foo --out '" + root_ +
                 "/badopt'");
  expect_clean_failure(r, {"foo", "adam"});
}

TEST_F(KilnCli, EvalOnATruncatedCheckpointIsAnIOError) {
  const std::string good = root_ + "/whole.safetensors", cut = root_ + "/truncated.safetensors";
  nn::Sequential net(nn::Linear(784, 16), nn::ReLU(), nn::Linear(16, 10));
  save_checkpoint(good, *net, nullptr, {{"model", "mlp"}, {"hidden", "16"}, {"classes", "10"}, {"dataset", "mnist"}});
  std::string bytes = slurp(good);
  ASSERT_GT(bytes.size(), 100u);
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  Result r = run("eval --device cpu --checkpoint '" + cut + "'");
  expect_clean_failure(r, {cut});

  Result missing = run("eval --device cpu --checkpoint '" + root_ + "/no_such.safetensors'");
  expect_clean_failure(missing, {"no_such.safetensors"});
}

// Metadata that is not a number gives an IOError naming the file and key, never "stoll" or "map::at".
TEST_F(KilnCli, EvalOnACheckpointWithBadMetadataNamesTheKey) {
  const std::string path = root_ + "/edited.safetensors";
  nn::Sequential net(nn::Linear(784, 16), nn::ReLU(), nn::Linear(16, 10));
  for (const char* classes : {"ten", "99999999999999999999", "-3"}) {
    save_checkpoint(path, *net, nullptr, {{"model", "mlp"}, {"hidden", "16"}, {"classes", classes}, {"dataset", "mnist"}});
    Result r = run("eval --device cpu --checkpoint '" + path + "'");
    expect_clean_failure(r, {path, "classes"});
    EXPECT_EQ(r.err.find("stoll"), std::string::npos) << r.err;
  }
}

TEST_F(KilnCli, UnparsableOptionsFailWithUsage) {
  Result r = run("train --epochs abc");
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_NE(r.code, 0) << r.describe();
  EXPECT_NE(r.err.find("--epochs"), std::string::npos) << r.describe();
  Result seed = run("train --seed -1");  // an unsigned option: CLI11 alone would read 2^64-1
  ASSERT_TRUE(seed.exited) << seed.describe();
  EXPECT_NE(seed.code, 0) << seed.describe();
  EXPECT_NE(seed.err.find("--seed: must not be negative"), std::string::npos) << seed.describe();
  Result none = run("");
  ASSERT_TRUE(none.exited) << none.describe();
  EXPECT_NE(none.code, 0) << "a subcommand is required\n" << none.describe();
}
}  // namespace
