// KILN_REQUIRE_GPU=1 turns a GPU test's "no GPU" skip into a failure (tests/gpu_skip.h): the helper's answers,
// the variable read from the environment, and the macro's failure, checked without failing this suite.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

#include "gpu_skip.h"
#include "kiln/cuda/cuda.h"

namespace {
using kiln::test::gpu_required;
using kiln::test::no_gpu_action;
using kiln::test::NoGpuAction;

/// Sets KILN_REQUIRE_GPU for the scope and puts back what was there before.
class ScopedRequireGpu {
 public:
  explicit ScopedRequireGpu(const char* value) {
    if (const char* old = std::getenv("KILN_REQUIRE_GPU")) old_ = old;
    if (value)
      ::setenv("KILN_REQUIRE_GPU", value, 1);
    else
      ::unsetenv("KILN_REQUIRE_GPU");
  }
  ~ScopedRequireGpu() {
    if (old_)
      ::setenv("KILN_REQUIRE_GPU", old_->c_str(), 1);
    else
      ::unsetenv("KILN_REQUIRE_GPU");
  }

 private:
  std::optional<std::string> old_;
};

TEST(RequireGpu, VariableValues) {
  EXPECT_FALSE(gpu_required(nullptr));
  EXPECT_FALSE(gpu_required(""));
  EXPECT_FALSE(gpu_required("0"));
  EXPECT_TRUE(gpu_required("1"));
  EXPECT_TRUE(gpu_required("yes"));
}

TEST(RequireGpu, FailsInsteadOfSkippingOnlyWhenRequired) {
  EXPECT_EQ(no_gpu_action(/*gpu_available=*/false, /*required=*/false), NoGpuAction::kSkip);
  EXPECT_EQ(no_gpu_action(false, true), NoGpuAction::kFail);
  EXPECT_EQ(no_gpu_action(true, false), NoGpuAction::kRun);
  EXPECT_EQ(no_gpu_action(true, true), NoGpuAction::kRun);
}

TEST(RequireGpu, ReadsTheEnvironment) {
  const NoGpuAction missing = kiln::cuda::is_available() ? NoGpuAction::kRun : NoGpuAction::kFail;
  {
    ScopedRequireGpu env("1");
    EXPECT_TRUE(gpu_required());
    EXPECT_EQ(no_gpu_action(), missing);
  }
  {
    ScopedRequireGpu env(nullptr);
    EXPECT_FALSE(gpu_required());
    EXPECT_EQ(no_gpu_action(), kiln::cuda::is_available() ? NoGpuAction::kRun : NoGpuAction::kSkip);
  }
}

// The macro as a test body uses it, inside EXPECT_FATAL_FAILURE so that its failure is caught and checked here.
void body_that_needs_a_gpu() { KILN_SKIP_WITHOUT_GPU(); }

TEST(RequireGpu, MacroFailsWithoutAGpuWhenRequired) {
  if (kiln::cuda::is_available()) GTEST_SKIP() << "a GPU is usable: the macro lets the test run";
  ScopedRequireGpu env("1");
  EXPECT_FATAL_FAILURE(body_that_needs_a_gpu(), "KILN_REQUIRE_GPU is set but no GPU is usable");
}
}  // namespace
