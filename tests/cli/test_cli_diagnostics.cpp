// End-to-end tests of `kiln train --batch-size auto` and `--deterministic` on a tiny generated dataset (runs
// without Fashion-MNIST): the search says what it chose, and two deterministic runs write identical results.
#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"
#include "kiln/io/checkpoint.h"

namespace {
using namespace kiln;
namespace fs = std::filesystem;
using nlohmann::json;

using test::slurp;

class KilnCliDiagnostics : public testing::Test {
 protected:
  void SetUp() override {
    binary_ = test::kiln_binary();
    ASSERT_FALSE(binary_.empty()) << "cannot read /proc/self/exe";
    if (!fs::exists(binary_)) GTEST_SKIP() << "the kiln binary is not at '" << binary_ << "': build kiln_cli";
    std::string tmpl = ::testing::TempDir() + "kiln_diag_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    write_tiny_dataset(root_ + "/tiny");
  }
  void TearDown() override {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  static void write_tiny_dataset(const std::string& dir) { test::write_tiny_mnist(dir, 200, 50); }

  using Result = test::CliResult;
  Result run(const std::string& args) {
    return test::run_cli(binary_, args, root_ + "/run" + std::to_string(counter_++));
  }
  std::string train_args(const std::string& out) const {
    return "train --dataset mnist --data '" + root_ + "/tiny' --device cpu --epochs 2 --json --out '" + root_ + "/" +
           out + "'";
  }

  std::string binary_, root_;
  int counter_ = 0;
};

TEST_F(KilnCliDiagnostics, BatchSizeAutoSaysWhatItChose) {
  Result r = run(train_args("auto") + " --batch-size auto");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // 200 training images: everything fits, so the search stops at the dataset size and says why.
  EXPECT_NE(r.err.find("batch size auto: batch size 200 on cpu"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("MemAvailable"), std::string::npos) << r.err;
  EXPECT_EQ(r.last_json()["batch_size"], 200) << r.out;
  EXPECT_EQ(load_checkpoint(root_ + "/auto/checkpoint.safetensors").metadata.at("batch_size"), "200");
}

TEST_F(KilnCliDiagnostics, BadBatchSizeIsRejected) {
  Result r = run(train_args("bad") + " --batch-size many");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--batch-size must be a positive number or 'auto'"), std::string::npos) << r.err;
}

// Two --deterministic runs with the same settings write bit-identical checkpoints and the same metrics.
TEST_F(KilnCliDiagnostics, DeterministicRunsAreBitIdentical) {
  Result a = run(train_args("det_a") + " --deterministic --batch-size 32");
  Result b = run(train_args("det_b") + " --deterministic --batch-size 32");
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  EXPECT_EQ(a.last_json()["deterministic"], true);
  EXPECT_EQ(slurp(root_ + "/det_a/checkpoint.safetensors"), slurp(root_ + "/det_b/checkpoint.safetensors"))
      << "the checkpoint files differ";
  Checkpoint ca = load_checkpoint(root_ + "/det_a/checkpoint.safetensors");
  Checkpoint cb = load_checkpoint(root_ + "/det_b/checkpoint.safetensors");
  ASSERT_EQ(ca.model.size(), cb.model.size());
  for (const auto& kv : ca.model) {
    std::vector<float> x = kv.second.contiguous().to_vector<float>(), y = cb.model.at(kv.first).contiguous().to_vector<float>();
    ASSERT_EQ(x.size(), y.size());
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0) << kv.first << " differs";
  }
  for (const auto& kv : ca.optimizer) {
    if (kv.second.dtype() != kFloat32) continue;
    std::vector<float> x = kv.second.contiguous().to_vector<float>(), y = cb.optimizer.at(kv.first).contiguous().to_vector<float>();
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0) << kv.first << " differs";
  }
  // Metrics: every number but the timings is identical.
  std::ifstream ma(root_ + "/det_a/metrics.jsonl"), mb(root_ + "/det_b/metrics.jsonl");
  std::string la, lb;
  int lines = 0;
  while (std::getline(ma, la) && std::getline(mb, lb)) {
    json ja = json::parse(la), jb = json::parse(lb);
    for (const char* k : {"loss", "accuracy", "val_loss", "val_accuracy"}) EXPECT_EQ(ja[k], jb[k]) << k;
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(a.last_json()["test_loss"], b.last_json()["test_loss"]);
}
TEST_F(KilnCliDiagnostics, CompareOnTheCpuIsWithinTolerance) {
  Result r = run("compare --device cpu --steps 1 --json");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  json j = r.last_json();
  EXPECT_EQ(j["all_within"], true) << r.out;
  EXPECT_EQ(j["rows"].size(), 11u);
  Result table = run("compare --device cpu --steps 0");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("summation order"), std::string::npos) << table.out;
}
}  // namespace
