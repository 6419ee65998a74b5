// DistributedDataParallel on 2 and 4 spawned ranks gives single-process training's parameters (scenario_ddp.cpp).
#include <gtest/gtest.h>

#include <csignal>

#include "dist/spawn.h"
#include "kiln/dist/process_group.h"
#include "kiln/nn/container.h"
#include "kiln/nn/distributed.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"

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

// Rank 2 of 3 builds a wider layer: every rank raises DistError naming the parameter and the ranks' shapes.
TEST(DistributedDataParallel, MismatchedShapesFailOnEveryRank) { expect_all_pass(spawn_group(3, "ddp_mismatch", kHardLimit)); }

// The last of 3 ranks is killed at step 3: the others' backward raises DistError within the 3 s timeout.
TEST(DistributedDataParallel, RankKilledMidTrainingFailsTheOthers) {
  auto g = spawn_group(3, "ddp_kill_mid_training", kHardLimit, {"KILN_DIST_TEST_TIMEOUT_MS=3000"});
  ASSERT_FALSE(g.timed_out) << g.dump();
  EXPECT_EQ(g.ranks[2].signal, SIGKILL) << g.dump();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(g.ranks[r].exit_code, 0) << g.dump();
    EXPECT_NE(g.ranks[r].output.find("DistError at step 3"), std::string::npos) << g.dump();
  }
}

}  // namespace
}  // namespace kiln::test

namespace kiln::nn {
namespace {
using namespace std::chrono_literals;

// A parameter that takes no part in the loss leaves its bucket incomplete, so no gradient is averaged: the next
// backward must say so (as PyTorch's DDP does in the next iteration), never train on unaveraged gradients.
TEST(DistributedDataParallelOneRank, AParameterOutsideTheLossIsReportedAtTheNextBackward) {
  auto pg = dist::new_group("gloo", std::make_shared<dist::TCPStore>("127.0.0.1", 0, true, 5000ms), 0, 1, {5000ms});
  Sequential seq(Linear(4, 2), Linear(4, 2));
  DistributedDataParallel ddp(seq.ptr(), pg);
  Tensor x = ones({3, 4});
  auto first = seq[0]->as<Linear>();
  first->forward(x).sum().backward();  // the second Linear gets no gradient
  std::string msg;
  try {
    first->forward(x).sum().backward();
  } catch (const AutogradError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("NOT averaged"), std::string::npos) << msg;
  EXPECT_NE(msg.find("#2, #3"), std::string::npos) << msg;  // the second Linear's weight and bias
  // Re-armed: a backward that reaches every parameter works again.
  (seq[0]->as<Linear>()->forward(x) + seq[1]->as<Linear>()->forward(x)).sum().backward();
}
}  // namespace
}  // namespace kiln::nn
