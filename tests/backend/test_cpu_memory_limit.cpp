// Tests for the CPU allocator's counters, cache and byte limit: out of memory is testable without a GPU.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/core/cpu_memory.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"

namespace cpu = kiln::cpu;

namespace {

constexpr int64_t kMiB = 1 << 20;

/// Removes any limit a test set, even when it fails.
struct LimitReset {
  ~LimitReset() { cpu::set_memory_limit(0); }
};

TEST(CpuMemory, CountsLiveTensors) {
  const int64_t before = cpu::memory_allocated();
  {
    kiln::Tensor t = kiln::zeros({1024, 1024});  // 4 MiB, a cached-size block
    EXPECT_GE(cpu::memory_allocated() - before, 4 * kMiB);
    EXPECT_GE(cpu::max_memory_allocated(), cpu::memory_allocated());
    EXPECT_GE(cpu::memory_reserved(), cpu::memory_allocated());
  }
  EXPECT_EQ(cpu::memory_allocated(), before);
}

TEST(CpuMemory, EmptyCacheReturnsIdleBlocks) {
  { kiln::Tensor t = kiln::zeros({1024, 1024}); }
  EXPECT_GT(cpu::memory_stats().num_cached_blocks, 0);
  cpu::empty_cache();
  EXPECT_EQ(cpu::memory_stats().num_cached_blocks, 0);
  EXPECT_EQ(cpu::memory_reserved(), cpu::memory_allocated());
}

TEST(CpuMemory, LimitThrowsOutOfMemoryWithSummaryAndStaysUsable) {
  LimitReset reset;
  cpu::empty_cache();
  const int64_t ooms = cpu::memory_stats().num_ooms;
  cpu::set_memory_limit(cpu::memory_reserved() + 16 * kMiB);
  EXPECT_EQ(cpu::memory_limit(), cpu::memory_reserved() + 16 * kMiB);
  std::vector<kiln::Tensor> held;
  for (int i = 0; i < 3; ++i) held.push_back(kiln::zeros({1024, 1024}));  // 12 MiB fits
  try {
    kiln::Tensor big = kiln::zeros({2048, 1024});  // 8 MiB more does not
    FAIL() << "expected OutOfMemoryError";
  } catch (const kiln::OutOfMemoryError& e) {
    const std::string msg = e.what();
    for (const char* want : {"CPU out of memory", "8.00 MiB", "set_memory_limit", "--batch-size auto",
                             "kiln memory summary", "out-of-memory errors"})
      EXPECT_NE(msg.find(want), std::string::npos) << want << " missing from: " << msg;
  }
  EXPECT_EQ(cpu::memory_stats().num_ooms, ooms + 1);
  // Freeing what was held makes room again: the process is still usable.
  held.clear();
  kiln::Tensor big = kiln::ones({2048, 1024});
  EXPECT_EQ(kiln::sum(big).item<float>(), 2048.0f * 1024.0f);
}

TEST(CpuMemory, CachedBlocksAreFreedBeforeGivingUp) {
  LimitReset reset;
  cpu::empty_cache();
  cpu::set_memory_limit(cpu::memory_reserved() + 10 * kMiB);
  { kiln::Tensor a = kiln::zeros({2048, 1024}); }  // 8 MiB, now idle in the cache
  EXPECT_GE(cpu::memory_reserved() - cpu::memory_allocated(), 8 * kMiB);
  kiln::Tensor b = kiln::zeros({2048 + 256, 1024});  // 9 MiB: fits only once the idle 8 MiB are returned
  EXPECT_EQ(b.numel(), (2048 + 256) * 1024);
}

TEST(CpuMemory, RejectsANegativeLimit) { EXPECT_THROW(cpu::set_memory_limit(-1), kiln::ValueError); }

TEST(CpuMemory, SummaryAndMeminfo) {
  const std::string s = cpu::memory_summary();
  EXPECT_NE(s.find("kiln memory summary, cpu"), std::string::npos) << s;
  EXPECT_GT(cpu::total_memory(), 0);
  EXPECT_GT(cpu::available_memory(), 0);
  EXPECT_LE(cpu::available_memory(), cpu::total_memory());
}
}  // namespace
