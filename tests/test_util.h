// Shared test helpers: the device parameter (cpu/cuda; CUDA skips without a GPU, fails under KILN_REQUIRE_GPU=1)
// and tensor comparisons.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "gpu_skip.h"
#include "kiln/kiln.h"

namespace kiln::test {

/// Parameterise a suite over devices with INSTANTIATE_DEVICE_TESTS(Suite); test names end in /cpu or /cuda,
/// which is how CTest labels them. Start each body with KILN_SKIP_IF_NO_DEVICE().
inline std::vector<Device> test_devices() { return {Device("cpu"), Device("cuda")}; }
inline std::string device_param_name(const testing::TestParamInfo<Device>& info) {
  return info.param.is_cuda() ? "cuda" : "cpu";
}

class DeviceTest : public testing::TestWithParam<Device> {
 protected:
  Device dev() const { return GetParam(); }
  TensorOptions opts(DType t = kFloat32) const { return TensorOptions().dtype(t).device(GetParam()); }
};

/// The folder of the tests' reference files (tests/data): $KILN_TEST_DATA_DIR when set (a copy of the test
/// binary elsewhere, as in gpu-bundle/), else the source tree's folder compiled in.
inline std::string data_dir() {
  const char* env = std::getenv("KILN_TEST_DATA_DIR");
  return env && env[0] ? env : KILN_TEST_DATA_DIR;
}

/// Float64 copy of a tensor's values on the host (the reference side of comparisons).
inline std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// Asserts same shape and every element within atol + rtol*|expected| (NaNs must match NaNs).
inline void expect_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << "shapes differ: " << actual.shape_str() << " vs " << expected.shape_str();
  auto a = values(actual), e = values(expected);
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(e[i])) {
      EXPECT_TRUE(std::isnan(a[i])) << "element " << i << ": expected nan, got " << a[i];
      continue;
    }
    if (std::isinf(e[i])) {
      EXPECT_EQ(a[i], e[i]) << "element " << i;
      continue;
    }
    EXPECT_NEAR(a[i], e[i], atol + rtol * std::fabs(e[i])) << "element " << i;
  }
}
inline void expect_values(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-6) {
  auto a = values(actual);
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], expected[i], tol * (1 + std::fabs(expected[i]))) << "element " << i;
}
}  // namespace kiln::test

/// Starts a DeviceTest body: its cuda instance skips without a GPU, or fails under KILN_REQUIRE_GPU=1.
#define KILN_SKIP_IF_NO_DEVICE()                       \
  do {                                                 \
    if (GetParam().is_cuda()) KILN_SKIP_WITHOUT_GPU(); \
  } while (0)

/// Instantiates a DeviceTest-derived suite for cpu and cuda.
#define INSTANTIATE_DEVICE_TESTS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, testing::ValuesIn(::kiln::test::test_devices()), ::kiln::test::device_param_name)
