// Tests for cuda::memory_summary and cuda::set_per_process_memory_fraction: an allocation past the fraction
// throws OutOfMemoryError with the summary, and the process stays usable. Need a GPU; skip without one.
#include <gtest/gtest.h>

#include <string>

#include "gpu_skip.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"

namespace cuda = kiln::cuda;

namespace {

struct FractionReset {
  ~FractionReset() {
    if (cuda::is_available()) cuda::set_per_process_memory_fraction(1.0, 0);
  }
};

TEST(CUDAMemoryLimit, SummaryNamesTheDevice) {
  KILN_SKIP_WITHOUT_GPU();
  kiln::Tensor t = kiln::zeros({1024}, kiln::Device("cuda:0"));
  const std::string s = cuda::memory_summary(0);
  EXPECT_NE(s.find("cuda:0"), std::string::npos) << s;
  EXPECT_NE(s.find("allocated"), std::string::npos) << s;
}

TEST(CUDAMemoryLimit, FractionRefusesGrowthThenRecovers) {
  KILN_SKIP_WITHOUT_GPU();
  FractionReset reset;
  cuda::synchronize(0);
  cuda::empty_cache();
  const int64_t total = static_cast<int64_t>(cuda::mem_get_info(0).second);
  const int64_t before = cuda::memory_allocated(0);
  const int64_t ooms = cuda::memory_stats(0).num_ooms;
  // A cap just above what is reserved now; then ask for more than the cap.
  const double fraction = static_cast<double>(cuda::memory_reserved(0) + (64 << 20)) / static_cast<double>(total);
  cuda::set_per_process_memory_fraction(fraction, 0);
  EXPECT_GT(cuda::memory_stats(0).limit_bytes, 0);
  try {
    kiln::Tensor big = kiln::empty({int64_t(128) << 20}, kiln::Device("cuda:0"));  // 512 MiB of float
    FAIL() << "expected OutOfMemoryError";
  } catch (const kiln::OutOfMemoryError& e) {
    const std::string msg = e.what();
    for (const char* want : {"CUDA out of memory", "set_per_process_memory_fraction", "kiln memory summary", "cuda:0"})
      EXPECT_NE(msg.find(want), std::string::npos) << want << " missing from: " << msg;
  }
  EXPECT_EQ(cuda::memory_stats(0).num_ooms, ooms + 1);
  EXPECT_EQ(cuda::memory_allocated(0), before);  // nothing leaked by the failed allocation
  // Small allocations under the cap still work, and lifting the cap lets the big one through.
  kiln::Tensor small = kiln::ones({1024}, kiln::Device("cuda:0"));
  EXPECT_EQ(kiln::sum(small).item<float>(), 1024.0f);
  cuda::set_per_process_memory_fraction(1.0, 0);
  EXPECT_EQ(cuda::memory_stats(0).limit_bytes, 0);
  kiln::Tensor big = kiln::empty({int64_t(128) << 20}, kiln::Device("cuda:0"));
  EXPECT_EQ(big.numel(), int64_t(128) << 20);
}

TEST(CUDAMemoryLimit, RejectsFractionsOutsideZeroToOne) {
  KILN_SKIP_WITHOUT_GPU();
  EXPECT_THROW(cuda::set_per_process_memory_fraction(0.0, 0), kiln::ValueError);
  EXPECT_THROW(cuda::set_per_process_memory_fraction(1.5, 0), kiln::ValueError);
}
}  // namespace
