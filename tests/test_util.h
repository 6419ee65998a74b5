// Shared test helpers: tensor comparisons against float64 references, plus the device parameter
// (test_device.h). Includes only Tensor itself: each test includes the op and module headers it uses.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "kiln/core/error.h"
#include "kiln/tensor/tensor.h"
#include "test_device.h"
#include "test_paths.h"

namespace kiln::test {

/// The folder of the tests' reference files (tests/data): $KILN_TEST_DATA_DIR when set (a copy of the test
/// binary elsewhere, as in gpu-bundle/), else the source tree's folder compiled in.
inline std::string data_dir() {
  const char* env = std::getenv("KILN_TEST_DATA_DIR");
  return env && env[0] ? env : compiled_test_data_dir();
}

/// Float64 copy of a tensor's values on the host (the reference side of comparisons).
inline std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// The message of the kiln::Error that f throws; empty when it throws none.
template <typename F>
std::string message_of(const F& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

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
