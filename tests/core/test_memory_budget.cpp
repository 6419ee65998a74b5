// Tests for MemoryBudget, the counters, limit and out-of-memory back-off shared by the CPU and CUDA allocators,
// driven with a fake system allocator so the GPU's path is checked without a GPU.
#include <gtest/gtest.h>

#include <string>

#include "core/memory_budget.h"

using kiln::detail::MemoryBudget;

namespace {

/// A fake system with `capacity` bytes; each grant returns a distinct non-null token.
struct FakeSystem {
  int64_t capacity;
  int64_t used = 0;
  int calls = 0;
  void* reserve(size_t n) {
    ++calls;
    if (used + static_cast<int64_t>(n) > capacity) return nullptr;
    used += static_cast<int64_t>(n);
    return reinterpret_cast<void*>(static_cast<uintptr_t>(used));
  }
};

TEST(MemoryBudget, CountsAllocationsAndPeaks) {
  MemoryBudget b;
  b.on_reserve(100);
  b.on_alloc(60);
  b.on_alloc(40);
  b.on_free(60);
  EXPECT_EQ(b.stats().allocated_bytes, 40);
  EXPECT_EQ(b.stats().peak_allocated_bytes, 100);
  EXPECT_EQ(b.stats().reserved_bytes, 100);
  EXPECT_EQ(b.stats().num_allocs, 2);
  EXPECT_EQ(b.stats().num_frees, 1);
  EXPECT_EQ(b.stats().num_device_allocs, 1);
  b.reset_peak();
  EXPECT_EQ(b.stats().peak_allocated_bytes, 40);
  b.on_release(100);
  EXPECT_EQ(b.stats().reserved_bytes, 0);
  EXPECT_EQ(b.stats().peak_reserved_bytes, 100);
}

TEST(MemoryBudget, LimitRefusesGrowthAfterReleasingTheCache) {
  MemoryBudget b;
  FakeSystem sys{1 << 20};
  b.set_limit(1000);
  EXPECT_EQ(b.stats().limit_bytes, 1000);
  ASSERT_NE(b.reserve(600, [&](size_t n) { return sys.reserve(n); }, [] {}), nullptr);
  int releases = 0;
  // 600 + 600 > 1000 even after the (empty) cache is released: refused without asking the system.
  const int calls_before = sys.calls;
  EXPECT_EQ(b.reserve(600, [&](size_t n) { return sys.reserve(n); }, [&] { ++releases; }), nullptr);
  EXPECT_EQ(releases, 1);
  EXPECT_EQ(sys.calls, calls_before);
  EXPECT_EQ(b.stats().num_ooms, 1);
  EXPECT_EQ(b.stats().reserved_bytes, 600);
}

TEST(MemoryBudget, ReleasingTheCacheMakesRoomForTheRetry) {
  MemoryBudget b;
  FakeSystem sys{1 << 20};
  b.set_limit(1000);
  ASSERT_NE(b.reserve(600, [&](size_t n) { return sys.reserve(n); }, [] {}), nullptr);
  // The 600 reserved bytes are cached and unused: releasing them lets the second try succeed.
  void* p = b.reserve(
      700, [&](size_t n) { return sys.reserve(n); },
      [&] {
        b.on_release(600);
        sys.used -= 600;
      });
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(b.stats().reserved_bytes, 700);
  EXPECT_EQ(b.stats().num_ooms, 0);
}

TEST(MemoryBudget, SystemRefusalAlsoRetriesOnceThenFails) {
  MemoryBudget b;  // no limit: only the system says no
  FakeSystem sys{500};
  int releases = 0;
  EXPECT_EQ(b.reserve(600, [&](size_t n) { return sys.reserve(n); }, [&] { ++releases; }), nullptr);
  EXPECT_EQ(sys.calls, 2);
  EXPECT_EQ(releases, 1);
  EXPECT_EQ(b.stats().num_ooms, 1);
  EXPECT_EQ(b.stats().num_device_allocs, 0);
}

TEST(MemoryBudget, ZeroLimitMeansNone) {
  MemoryBudget b;
  b.set_limit(0);
  EXPECT_TRUE(b.fits(size_t(1) << 40));
  b.set_limit(-5);
  EXPECT_EQ(b.limit(), 0);
}

TEST(MemoryBudget, SummaryTableNamesEveryCounter) {
  MemoryBudget b;
  b.set_limit(4 << 20);
  b.on_reserve(2 << 20);
  b.on_alloc(1 << 20);
  kiln::MemoryStats s = b.stats();
  s.num_cached_blocks = 3;
  const std::string t = kiln::detail::memory_summary_table("cuda:0 (Test GPU)", s, int64_t(8) << 30);
  for (const char* want : {"cuda:0 (Test GPU)", "allocated", "reserved", "peak", "1.00 MiB", "2.00 MiB", "4.00 MiB",
                           "8.00 GiB", "cached blocks", "out-of-memory errors", "allocations"})
    EXPECT_NE(t.find(want), std::string::npos) << want << " missing from\n" << t;
}

TEST(MemoryBudget, HumanBytes) {
  EXPECT_EQ(kiln::detail::human_bytes(0), "0 bytes");
  EXPECT_EQ(kiln::detail::human_bytes(1536), "1.50 KiB");
  EXPECT_EQ(kiln::detail::human_bytes(-2048), "-2.00 KiB");
}
}  // namespace
