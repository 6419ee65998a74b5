// kiln smi's NVML reader: without NVML it says so and why, and never throws.
#include <gtest/gtest.h>

#include "kiln/diag/gpu_status.h"

namespace {
TEST(GpuStatus, MissingNvmlIsReportedNotThrown) {
  const std::string missing = "/nonexistent/kiln-test/libnvidia-ml.so.1";
  kiln::diag::NvmlReport r = kiln::diag::query_nvml(missing);
  EXPECT_FALSE(r.available);
  EXPECT_TRUE(r.gpus.empty());
  EXPECT_EQ(r.library, missing);
  EXPECT_NE(r.error.find("NVML is not available"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find(missing), std::string::npos) << r.error;
}

TEST(GpuStatus, TheDefaultLibraryEitherAnswersOrSaysWhy) {
  kiln::diag::NvmlReport r = kiln::diag::query_nvml();
  if (r.available) {
    for (auto& g : r.gpus) EXPECT_FALSE(g.name.empty()) << "GPU " << g.index;
  } else {
    EXPECT_FALSE(r.error.empty());
  }
}
}  // namespace
