// CPU tests of the caching allocator's record_stream bookkeeping (DeferredFrees) driven by fake events.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/cuda/deferred_frees.h"

namespace {

using kiln::cuda::detail::add_stream_use;
using Frees = kiln::cuda::detail::DeferredFrees<std::string, int>;

/// Fake GPU: an event has completed once the test says so. Records what the bookkeeping hands back.
struct FakeGpu {
  std::set<int> completed;
  std::vector<int> recycled;
  std::vector<std::string> released;
  int queries = 0;

  void collect(Frees& f) {
    f.collect(
        [&](int e) {
          ++queries;
          return completed.count(e) != 0;
        },
        [&](int e) { recycled.push_back(e); }, [&](const std::string& b) { released.push_back(b); });
  }
};

TEST(DeferredFrees, StreamUsesSkipTheAllocationStreamAndDuplicates) {
  std::vector<int> uses;
  EXPECT_FALSE(add_stream_use(uses, 1, 1));  // the allocation stream orders its own work
  EXPECT_TRUE(add_stream_use(uses, 1, 2));
  EXPECT_FALSE(add_stream_use(uses, 1, 2));
  EXPECT_TRUE(add_stream_use(uses, 1, 3));
  EXPECT_EQ(uses, (std::vector<int>{2, 3}));
}

TEST(DeferredFrees, BlockIsReleasedOnlyAfterEveryEventCompleted) {
  Frees f;
  FakeGpu gpu;
  f.defer("a", {10, 11});  // used on two other streams
  EXPECT_TRUE(f.holds("a"));
  EXPECT_EQ(f.blocks(), 1u);
  EXPECT_EQ(f.events(), 2u);

  gpu.collect(f);  // nothing done: nothing released, nothing waited for
  EXPECT_TRUE(gpu.released.empty());
  EXPECT_TRUE(gpu.recycled.empty());

  gpu.completed.insert(10);
  gpu.collect(f);
  EXPECT_EQ(gpu.recycled, (std::vector<int>{10}));
  EXPECT_TRUE(gpu.released.empty()) << "released while the second stream may still use it";
  EXPECT_TRUE(f.holds("a"));

  gpu.completed.insert(11);
  gpu.collect(f);
  EXPECT_EQ(gpu.recycled, (std::vector<int>{10, 11}));
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a"}));
  EXPECT_FALSE(f.holds("a"));
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(f.blocks(), 0u);
}

TEST(DeferredFrees, BlocksComeBackInOrderAndTheScanStopsAtAPendingEvent) {
  Frees f;
  FakeGpu gpu;
  f.defer("a", {1});
  f.defer("b", {2});
  f.defer("c", {3});
  gpu.completed = {1, 3};  // b's stream is still busy
  gpu.collect(f);
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a"}));
  // Oldest first, stopping at the first pending event: c waits behind b (only later, never too early).
  EXPECT_EQ(gpu.queries, 2);
  EXPECT_TRUE(f.holds("b"));
  EXPECT_TRUE(f.holds("c"));
  gpu.completed.insert(2);
  gpu.collect(f);
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(f.empty());
}

TEST(DeferredFrees, DrainReleasesEverythingWithoutQueries) {
  Frees f;
  FakeGpu gpu;
  f.defer("a", {1, 2});
  f.defer("b", {3});
  f.drain([&](int e) { gpu.recycled.push_back(e); }, [&](const std::string& b) { gpu.released.push_back(b); });
  EXPECT_EQ(gpu.recycled, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(f.blocks(), 0u);
}

TEST(DeferredFrees, NoEventsMeansNothingIsHeld) {
  Frees f;
  f.defer("a", {});
  EXPECT_FALSE(f.holds("a"));
  EXPECT_TRUE(f.empty());
}

TEST(DeferredFrees, ABlockCanBeHeldAgainAfterItsRelease) {
  // The same address comes back after reuse: its second free must be tracked afresh.
  Frees f;
  FakeGpu gpu;
  f.defer("a", {1});
  gpu.completed.insert(1);
  gpu.collect(f);
  f.defer("a", {2});
  gpu.collect(f);
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(f.holds("a"));
  gpu.completed.insert(2);
  gpu.collect(f);
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a", "a"}));
}

TEST(DeferredFrees, AFailingQueryLeavesTheQueueIntact) {
  Frees f;
  FakeGpu gpu;
  f.defer("a", {1});
  f.defer("b", {2});
  EXPECT_THROW(f.collect([](int) -> bool { throw std::runtime_error("device lost"); }, [](int) {},
                         [](const std::string&) {}),
               std::runtime_error);
  EXPECT_EQ(f.events(), 2u);
  EXPECT_EQ(f.blocks(), 2u);
  gpu.completed = {1, 2};
  gpu.collect(f);
  EXPECT_EQ(gpu.released, (std::vector<std::string>{"a", "b"}));
}
}  // namespace
