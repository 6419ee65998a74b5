// The device-placement log: what it prints for an op (op, device, inputs' dtypes and devices), once per
// combination or on every call, and nothing once turned off.
#include <gtest/gtest.h>

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
}  // namespace
