// ProcessGroup over Gloo: argument errors and a one-rank group in process; 2 and 4 ranks spawned on loopback.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "dist/spawn.h"
#include "kiln/cuda/cuda.h"
#include "kiln/dist/process_group.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::dist {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<ProcessGroup> one_rank_group() {
  return new_group("gloo", std::make_shared<TCPStore>("127.0.0.1", 0, true, 5000ms), 0, 1, {5000ms});
}

TEST(ProcessGroup, OneRankCollectivesAreIdentities) {
  auto pg = one_rank_group();
  EXPECT_EQ(pg->backend(), "gloo");
  EXPECT_EQ(pg->rank(), 0);
  EXPECT_EQ(pg->size(), 1);
  Tensor t = tensor(std::vector<double>{1.5, -2, 3}, {3});
  pg->all_reduce(t, ReduceOp::Avg)->wait();
  pg->broadcast(t, 0)->wait();
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1.5, -2, 3}));
  std::vector<Tensor> out{zeros({3}, TensorOptions(kFloat64))};
  pg->all_gather(out, t)->wait();
  EXPECT_EQ(out[0].to_vector<double>(), (std::vector<double>{1.5, -2, 3}));
  Tensor scattered = zeros({3}, TensorOptions(kFloat64));
  pg->reduce_scatter(scattered, {t}, ReduceOp::Max)->wait();
  EXPECT_EQ(scattered.to_vector<double>(), (std::vector<double>{1.5, -2, 3}));
  pg->barrier()->wait();
}

TEST(ProcessGroup, ArgumentErrors) {
  auto pg = one_rank_group();
  Tensor m = zeros({2, 3});
  EXPECT_THROW(pg->all_reduce(Tensor()), ValueError);
  EXPECT_THROW(pg->all_reduce(m.transpose(0, 1)), ValueError);  // not contiguous
  EXPECT_THROW(pg->all_reduce(zeros({2}, TensorOptions(kInt32))), DTypeError);
  EXPECT_THROW(pg->all_reduce(zeros({2}, TensorOptions(kInt64)), ReduceOp::Avg), DTypeError);
  EXPECT_THROW(pg->broadcast(m, 1), IndexError);
  EXPECT_THROW(pg->all_gather({}, m), ValueError);
  EXPECT_THROW(pg->all_gather({zeros({3, 2})}, m), ShapeError);
  EXPECT_THROW(pg->all_gather({zeros({2, 3}, TensorOptions(kFloat64))}, m), DTypeError);
  EXPECT_THROW(pg->reduce_scatter(m, {}), ValueError);  // one input per rank
  EXPECT_THROW(pg->reduce_scatter(Tensor(), {m}), ValueError);
  EXPECT_THROW(pg->reduce_scatter(m, {m.transpose(0, 1)}), ValueError);  // not contiguous
  EXPECT_THROW(pg->reduce_scatter(m, {zeros({3, 2})}), ShapeError);
  EXPECT_THROW(pg->reduce_scatter(m, {zeros({2, 3}, TensorOptions(kFloat64))}), DTypeError);
  EXPECT_THROW(pg->reduce_scatter(zeros({2}, TensorOptions(kInt64)), {zeros({2}, TensorOptions(kInt64))}, ReduceOp::Avg),
               DTypeError);
  EXPECT_THROW(pg->reduce_scatter(zeros({2}, TensorOptions(kInt32)), {zeros({2}, TensorOptions(kInt32))}), DTypeError);
  try {
    pg->all_reduce(zeros({2}, TensorOptions(kInt32)));
  } catch (const DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("float32, float64 or int64"), std::string::npos) << e.what();
  }
}

TEST(ProcessGroup, BackendsByName) {
  auto store = std::make_shared<TCPStore>("127.0.0.1", 0, true, 1000ms);
  // "nccl" is a known name: without NCCL in the build, or without a GPU, the error says so (test_nccl.cpp).
  if (!cuda::is_available()) EXPECT_THROW(new_group("nccl", store, 0, 1), Error);
  try {
    new_group("mpi2", store, 0, 1);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("\"gloo\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(new_group("gloo", store, 1, 1), ValueError);  // rank outside [0, size)
}

TEST(ProcessGroup, InitWithoutLauncherVariablesNamesThem) {
  // ctest runs each test in its own process, so changing this one's environment touches no other test.
  for (const char* v : {"RANK", "WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_PROCID",
                        "SLURM_NTASKS", "MASTER_ADDR", "MASTER_PORT"})
    ::unsetenv(v);
  EXPECT_FALSE(is_initialized());
  EXPECT_THROW(default_group(), ValueError);
  try {
    init_process_group("gloo");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("RANK and WORLD_SIZE"), std::string::npos) << e.what();
  }
  ::setenv("RANK", "0", 1);
  ::setenv("WORLD_SIZE", "1", 1);
  try {
    init_process_group("gloo");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("MASTER_ADDR"), std::string::npos) << e.what();
  }
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(test::free_port()).c_str(), 1);
  auto pg = init_process_group("gloo", {5000ms});
  EXPECT_TRUE(is_initialized());
  EXPECT_EQ(default_group(), pg);
  EXPECT_THROW(init_process_group("gloo"), ValueError);  // one default group at a time
  destroy_process_group();
  EXPECT_FALSE(is_initialized());
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
}

// Each spawned group has a hard wall-clock limit: a hang fails the test instead of stalling CI.
constexpr auto kHardLimit = std::chrono::milliseconds(60000);

void expect_all_pass(const test::GroupResult& g) {
  ASSERT_FALSE(g.timed_out) << g.dump();
  for (const auto& r : g.ranks) EXPECT_EQ(r.exit_code, 0) << g.dump();
}

TEST(ProcessGroupSpawned, CollectivesOnTwoRanks) { expect_all_pass(test::spawn_group(2, "collectives", kHardLimit)); }

// Three ranks: a world size that is not a power of two (reduce_scatter's slices, Gloo's ring steps).
TEST(ProcessGroupSpawned, CollectivesOnThreeRanks) { expect_all_pass(test::spawn_group(3, "collectives", kHardLimit)); }

TEST(ProcessGroupSpawned, CollectivesOnFourRanks) { expect_all_pass(test::spawn_group(4, "collectives", kHardLimit)); }

// The dead rank's peers see their connection drop, or at worst the 3 s timeout, and raise DistError.
TEST(ProcessGroupSpawned, KilledRankMakesTheOthersFail) {
  auto g = test::spawn_group(4, "kill_last", kHardLimit, {"KILN_DIST_TEST_TIMEOUT_MS=3000"});
  ASSERT_FALSE(g.timed_out) << g.dump();
  EXPECT_EQ(g.ranks[3].signal, SIGKILL) << g.dump();
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(g.ranks[r].exit_code, 0) << g.dump();
    EXPECT_NE(g.ranks[r].output.find("DistError after"), std::string::npos) << g.dump();
  }
}

// A rank that stays alive but never joins the collective: the others time out after 2 s.
TEST(ProcessGroupSpawned, StalledRankTimesOut) {
  auto g = test::spawn_group(2, "stall_last", kHardLimit, {"KILN_DIST_TEST_TIMEOUT_MS=2000"});
  ASSERT_FALSE(g.timed_out) << g.dump();
  EXPECT_EQ(g.ranks[0].exit_code, 0) << g.dump();
  EXPECT_NE(g.ranks[0].output.find("DistError after"), std::string::npos) << g.dump();
  EXPECT_EQ(g.ranks[1].exit_code, 0) << g.dump();
}

}  // namespace
}  // namespace kiln::dist
