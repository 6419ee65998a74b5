// kiln smi's NVML reader: every field read from a stand-in NVML; without NVML it says so and why, and never throws.
#include <gtest/gtest.h>

#include <fstream>

#include "kiln/diag/gpu_status.h"
#include "test_paths.h"

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

// The reader against a stand-in NVML with fixed readings (tests/diag/fake_nvml.c): every field, a value NVML
// does not support, a process whose memory is not reported, and the process buffer grown on request.
TEST(GpuStatus, ReadsEveryFieldFromNvml) {
  const std::string fake = kiln::test::fake_nvml_path();
  if (fake.empty()) GTEST_SKIP() << "built without the stand-in NVML";
  if (!std::ifstream(fake)) GTEST_SKIP() << fake << " is absent (a copied test binary)";
  kiln::diag::NvmlReport r = kiln::diag::query_nvml(fake);
  ASSERT_TRUE(r.available) << r.error;
  EXPECT_EQ(r.driver_version, "580.65.06");
  ASSERT_EQ(r.gpus.size(), 2u);
  const kiln::diag::GpuStatus& g = r.gpus[0];
  EXPECT_EQ(g.index, 0);
  EXPECT_EQ(g.name, "NVIDIA H200");
  EXPECT_EQ(g.uuid, "GPU-00000000-1111-2222-3333-444444444444");
  EXPECT_EQ(g.bus_id, "00000000:18:00.0");
  EXPECT_EQ(g.memory_total_bytes, 141ll << 30);
  EXPECT_EQ(g.memory_used_bytes, 3ll << 30);
  EXPECT_EQ(g.utilization_gpu_percent, 37);
  EXPECT_EQ(g.utilization_memory_percent, 12);
  EXPECT_EQ(g.temperature_c, 41);
  EXPECT_DOUBLE_EQ(g.power_w, 123.456);
  EXPECT_LT(g.power_limit_w, 0) << "not supported stays unset";
  ASSERT_EQ(g.processes.size(), 2u);
  EXPECT_EQ(g.processes[0].pid, 4242u);
  EXPECT_EQ(g.processes[0].name, "python3");
  EXPECT_EQ(g.processes[0].used_memory_bytes, 2ll << 30);
  EXPECT_EQ(g.processes[1].used_memory_bytes, -1) << "NVML_VALUE_NOT_AVAILABLE stays unset";
  EXPECT_EQ(r.gpus[1].bus_id, "00000000:2A:00.0");
  EXPECT_TRUE(r.gpus[1].processes.empty());
}
