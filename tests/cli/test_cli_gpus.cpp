// `kiln train --gpus N`: the flag's checks (device count, --device, CUDA_VISIBLE_DEVICES in the message) through
// the function the CLI calls and through the built binary; a one-GPU DataParallel run where a GPU is present.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"
#include "gpu_skip.h"
#include "gpus_flag.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"
#include "nn/nn_test_util.h"

namespace {
using namespace kiln;
namespace fs = std::filesystem;

TEST(GpusFlag, ListsCuda0ToNMinus1) {
  auto devices = cli::gpus_flag_devices(3, "auto", 4);
  ASSERT_EQ(devices.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(devices[i], Device(DeviceType::CUDA, i));
  EXPECT_EQ(cli::gpus_flag_devices(1, "cuda", 1).size(), 1u);
}

TEST(GpusFlag, RefusesBadCountsAndConflictingDevices) {
  EXPECT_THROW_WITH(cli::gpus_flag_devices(0, "auto", 2), ValueError, "--gpus", "at least 1");
  EXPECT_THROW_WITH(cli::gpus_flag_devices(2, "cpu", 2), ValueError, "--gpus 2", "--device cpu");
  EXPECT_THROW_WITH(cli::gpus_flag_devices(2, "cuda:1", 2), ValueError, "--device cuda:1", "CUDA_VISIBLE_DEVICES");
}

TEST(GpusFlag, TooFewVisibleGpusNamesCudaVisibleDevices) {
  const char* old = getenv("CUDA_VISIBLE_DEVICES");
  const std::string saved = old ? old : "";
  setenv("CUDA_VISIBLE_DEVICES", "3", 1);
  EXPECT_THROW_WITH(cli::gpus_flag_devices(2, "auto", 1), DeviceError, "--gpus 2 needs 2 GPUs but 1 is visible",
                    "CUDA_VISIBLE_DEVICES='3'");
  if (old)
    setenv("CUDA_VISIBLE_DEVICES", saved.c_str(), 1);
  else
    unsetenv("CUDA_VISIBLE_DEVICES");
}

class KilnTrainGpus : public testing::Test {
 protected:
  void SetUp() override {
    binary_ = test::kiln_binary();
    if (binary_.empty() || !fs::exists(binary_)) GTEST_SKIP() << "the kiln binary is not built at '" << binary_ << "'";
    std::string tmpl = ::testing::TempDir() + "kiln_gpus_XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }
  test::CliResult run(const std::string& args) {
    return test::run_cli(binary_, args, root_ + "/run" + std::to_string(n_++));
  }
  void expect_clean_failure(const test::CliResult& r, const std::vector<std::string>& needles) {
    ASSERT_TRUE(r.exited) << r.describe();
    EXPECT_EQ(r.code, 1) << r.describe();
    for (auto& s : needles)
      EXPECT_NE(r.err.find(s), std::string::npos) << "stderr lacks '" << s << "'\n" << r.describe();
  }
  std::string binary_, root_;
  int n_ = 0;
};

TEST_F(KilnTrainGpus, GpusWithDeviceCpuIsRefused) {
  expect_clean_failure(run("train --gpus 2 --device cpu --out '" + root_ + "/o'"), {"--gpus 2", "--device cpu"});
}

TEST_F(KilnTrainGpus, MoreGpusThanVisibleIsRefusedBeforeReadingData) {
  const int visible = cuda::device_count();
  // --data names a folder that does not exist: the --gpus check must fail first.
  expect_clean_failure(
      run("train --gpus " + std::to_string(visible + 1) + " --data '" + root_ + "/none' --out '" + root_ + "/o'"),
      {"--gpus", "visible", "CUDA_VISIBLE_DEVICES"});
  expect_clean_failure(run("train --gpus 0 --out '" + root_ + "/o'"), {"--gpus", "at least 1"});
}

// --gpus 1 on a GPU machine: DataParallel over [cuda:0] trains, and the checkpoint evaluates without it.
TEST_F(KilnTrainGpus, CUDA_OneGpuTrainsAndItsCheckpointEvaluates) {
  KILN_SKIP_WITHOUT_GPU();
  const std::string data = root_ + "/tiny", out = root_ + "/gpus1";
  test::write_tiny_mnist(data, 64, 32);
  auto r = run("train --gpus 1 --dataset mnist --data '" + data + "' --epochs 1 --json --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.describe();
  EXPECT_EQ(r.last_json().value("device", ""), "cuda:0") << r.describe();
  auto e =
      run("eval --dataset mnist --data '" + data + "' --checkpoint '" + out + "/checkpoint.safetensors' --device cpu");
  EXPECT_EQ(e.code, 0) << e.describe();
}
}  // namespace
