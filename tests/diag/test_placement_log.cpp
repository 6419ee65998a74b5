// The device-placement log: what it prints for an op (op, device, inputs' dtypes and devices), once per
// combination or on every call, and nothing once turned off.
#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gpu_skip.h"
#include "kiln/diag/placement_log.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"

namespace {
using namespace kiln;

// Collects the log's lines for the test's lifetime and turns the log off after.
struct CapturedLog {
  std::vector<std::string> lines;
  explicit CapturedLog(PlacementLogMode mode) {
    set_log_device_placement(true, mode, [this](const std::string& l) { lines.push_back(l); });
  }
  ~CapturedLog() { set_log_device_placement(false); }
  size_t count(const std::string& needle) const {
    size_t n = 0;
    for (auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
  std::string all() const {
    std::string s;
    for (auto& l : lines) s += l + "\n";
    return s;
  }
};

TEST(PlacementLog, NamesTheOpItsDeviceAndItsInputs) {
  Tensor a = ones({4}), b = ones({4});
  CapturedLog log(PlacementLogMode::OncePerCombination);
  EXPECT_TRUE(log_device_placement());
  Tensor c = a + b;
  EXPECT_EQ(log.count("[kiln placement] binary_stub add on cpu: inputs float32@cpu, float32@cpu -> float32@cpu"), 1u)
      << log.all();
  Tensor m = matmul(ones({2, 3}), ones({3, 2}));
  EXPECT_EQ(log.count("gemm_stub"), 1u) << log.all();
  Tensor s = m.sum();
  EXPECT_EQ(log.count("reduce_stub Sum on cpu"), 1u) << log.all();
}

TEST(PlacementLog, OncePerCombinationByDefaultOrEveryCall) {
  Tensor a = ones({4}), b = ones({4});
  {
    CapturedLog log(PlacementLogMode::OncePerCombination);
    for (int i = 0; i < 3; ++i) Tensor c = a * b;
    EXPECT_EQ(log.count("binary_stub mul on cpu"), 1u) << log.all();
    // Another dtype is another combination.
    Tensor d = ones({4}, TensorOptions(DType::Float64)) * ones({4}, TensorOptions(DType::Float64));
    EXPECT_EQ(log.count("binary_stub mul on cpu: inputs float64@cpu"), 1u) << log.all();
  }
  {
    CapturedLog log(PlacementLogMode::EveryCall);
    for (int i = 0; i < 3; ++i) Tensor c = a * b;
    EXPECT_EQ(log.count("binary_stub mul on cpu"), 3u) << log.all();
  }
}

TEST(PlacementLog, OffLogsNothing) {
  std::vector<std::string> lines;
  set_log_device_placement(true, PlacementLogMode::EveryCall, [&](const std::string& l) { lines.push_back(l); });
  set_log_device_placement(false);
  EXPECT_FALSE(log_device_placement());
  Tensor c = ones({4}) + ones({4});
  EXPECT_TRUE(lines.empty());
}

TEST(PlacementLog, NamesTheCUDADevice) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor a = ones({4}, TensorOptions().device(Device("cuda:0")));
  CapturedLog log(PlacementLogMode::OncePerCombination);
  Tensor c = a + a;
  EXPECT_EQ(log.count("binary_stub add on cuda:0: inputs float32@cuda:0, float32@cuda:0 -> float32@cuda:0"), 1u)
      << log.all();
}
// The environment variable is read when libkiln loads, so it is tested in a child: this test binary rerun on
// one small test with KILN_LOG_DEVICE_PLACEMENT set.
TEST(PlacementLog, TheEnvironmentTurnsItOn) {
  char self[PATH_MAX];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);  // resolved here: in the child it is `env`
  ASSERT_GT(len, 0);
  self[len] = '\0';
  auto child_stderr = [&](const std::string& value) {
    const std::string cmd = "env KILN_LOG_DEVICE_PLACEMENT=" + value + " '" + self +
                            "' --gtest_filter=PlacementLogChild.AddsTwice 2>&1 >/dev/null";
    std::string err;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) err.append(buf, n);
      pclose(p);
    }
    return err;
  };
  auto count = [](const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  };
  const std::string add = "[kiln placement] binary_stub add on cpu: inputs float32@cpu, float32@cpu -> float32@cpu";
  std::string once = child_stderr("1");
  EXPECT_EQ(count(once, add), 1u) << once;
  std::string every = child_stderr("all");
  EXPECT_EQ(count(every, add), 2u) << every;
  std::string off = child_stderr("0");
  EXPECT_EQ(count(off, "[kiln placement]"), 0u) << off;
}

// Run by the test above in a child process; alone it only checks the sum.
TEST(PlacementLogChild, AddsTwice) {
  Tensor a = ones({4});
  Tensor b = a + a;
  Tensor c = a + a;
  EXPECT_TRUE(allclose(b, c));
}
}  // namespace
