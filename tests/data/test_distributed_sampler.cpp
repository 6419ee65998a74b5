// DistributedSampler: PyTorch's split of the indices across ranks, its padding, and coverage once per epoch.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "kiln/core/error.h"
#include "kiln/data/distributed_sampler.h"

namespace kiln::test {
namespace {

using data::DistributedSampler;
using Split = std::vector<std::vector<int64_t>>;

Split split(int64_t n, int world, bool shuffle, bool drop_last, int64_t epoch = 0, uint64_t seed = 0) {
  Split out;
  for (int r = 0; r < world; ++r) out.push_back(DistributedSampler(n, world, r, shuffle, seed, drop_last).indices(epoch));
  return out;
}

// Expected values printed by torch 1.13:
//   [list(DistributedSampler(range(n), num_replicas=w, rank=r, shuffle=False, drop_last=dl)) for r in range(w)]
TEST(DistributedSampler, MatchesPyTorchWithoutShuffle) {
  EXPECT_EQ(split(10, 4, false, false), (Split{{0, 4, 8}, {1, 5, 9}, {2, 6, 0}, {3, 7, 1}}));
  EXPECT_EQ(split(10, 4, false, true), (Split{{0, 4}, {1, 5}, {2, 6}, {3, 7}}));
  EXPECT_EQ(split(2, 5, false, false), (Split{{0}, {1}, {0}, {1}, {0}}));  // padding longer than the data
  EXPECT_EQ(DistributedSampler(10, 4, 0).size(), 3);
  EXPECT_EQ(DistributedSampler(10, 4, 0, true, 0, true).size(), 2);
}

TEST(DistributedSampler, ShuffledEpochCoversEveryIndexOncePlusPadding) {
  const int64_t n = 23;
  for (int world : {1, 2, 4}) {
    for (int64_t epoch : {0, 1, 2}) {
      Split s = split(n, world, true, false, epoch, 7);
      std::map<int64_t, int> seen;
      for (const auto& part : s) {
        EXPECT_EQ(static_cast<int64_t>(part.size()), (n + world - 1) / world);
        for (int64_t i : part) ++seen[i];
      }
      EXPECT_EQ(static_cast<int64_t>(seen.size()), n);  // every sample visited
      int extra = 0;
      for (const auto& kv : seen) extra += kv.second - 1;
      EXPECT_EQ(extra, ((n + world - 1) / world) * world - n);  // only the padding repeats
    }
  }
  // The shuffle is RandomSampler's for (seed, epoch): same on every rank, new each epoch.
  std::vector<int64_t> order = data::RandomSampler(n, 7).indices(1);
  EXPECT_EQ(split(n, 2, true, false, 1, 7)[1][0], order[1]);
  EXPECT_NE(split(n, 2, true, false, 0, 7), split(n, 2, true, false, 1, 7));
}

TEST(DistributedSampler, ArgumentErrors) {
  EXPECT_THROW(DistributedSampler(10, 0, 0), ValueError);
  EXPECT_THROW(DistributedSampler(10, 2, 2), ValueError);
  EXPECT_THROW(DistributedSampler(-1, 2, 0), ValueError);
  EXPECT_TRUE(DistributedSampler(0, 2, 1).indices(0).empty());
}

}  // namespace
}  // namespace kiln::test
