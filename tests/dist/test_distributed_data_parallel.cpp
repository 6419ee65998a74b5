// DistributedDataParallel on 2 and 4 spawned ranks gives single-process training's parameters (scenario_ddp.cpp).
#include <gtest/gtest.h>

#include "dist/spawn.h"

namespace kiln::test {
namespace {

constexpr auto kHardLimit = std::chrono::milliseconds(60000);

void expect_all_pass(const GroupResult& g) {
  ASSERT_FALSE(g.timed_out) << g.dump();
  for (const auto& r : g.ranks) EXPECT_EQ(r.exit_code, 0) << g.dump();
}

TEST(DistributedDataParallel, TwoRanksMatchSingleProcessWithSmallBuckets) {
  // 64-byte buckets: one per parameter or less, so several all-reduces are in flight in one backward.
  expect_all_pass(spawn_group(2, "ddp", kHardLimit, {"KILN_DIST_TEST_BUCKET_BYTES=64"}));
}

TEST(DistributedDataParallel, FourRanksMatchSingleProcess) { expect_all_pass(spawn_group(4, "ddp", kHardLimit)); }

}  // namespace
}  // namespace kiln::test
