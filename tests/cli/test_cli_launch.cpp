// `kiln launch` end to end: the ranks' variables and prefixed output, failure propagation, signals, bad arguments.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"

namespace {
using kiln::test::kiln_binary;
using kiln::test::run_cli;

std::string scratch(const std::string& name) { return ::testing::TempDir() + "kiln_launch_" + name; }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(KilnLaunch, EveryRankGetsTorchrunsVariablesAndPrefixedOutput) {
  auto r = run_cli(kiln_binary(),
                   "launch -n 3 -- sh -c 'echo rank=$RANK world=$WORLD_SIZE local=$LOCAL_RANK/$LOCAL_WORLD_SIZE "
                   "addr=$MASTER_ADDR port=$MASTER_PORT; echo err$RANK >&2; printf tail$RANK'",
                   scratch("vars"));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  for (int k = 0; k < 3; ++k) {
    std::string rk = std::to_string(k);
    EXPECT_TRUE(has(r.out, "[rank " + rk + "] rank=" + rk + " world=3 local=" + rk + "/3 addr=127.0.0.1 port="))
        << r.describe();
    EXPECT_TRUE(has(r.err, "[rank " + rk + "] err" + rk + "\n")) << r.describe();
    EXPECT_TRUE(has(r.out, "[rank " + rk + "] tail" + rk + "\n")) << r.describe();  // an unfinished last line
  }
  EXPECT_FALSE(has(r.out, "port=\n")) << r.describe();
}

TEST(KilnLaunch, SeveralNodesNumberTheRanksByNode) {
  auto r = run_cli(kiln_binary(),
                   "launch -n 2 --nodes 3 --node-rank 2 --master 127.0.0.1:29999 --no-prefix -- "
                   "sh -c 'echo rank=$RANK world=$WORLD_SIZE local=$LOCAL_RANK port=$MASTER_PORT'",
                   scratch("nodes"));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_TRUE(has(r.out, "rank=4 world=6 local=0 port=29999\n")) << r.describe();
  EXPECT_TRUE(has(r.out, "rank=5 world=6 local=1 port=29999\n")) << r.describe();
}

// Rank 1 fails while the others would run for a minute: they are stopped and the launcher names rank 1.
TEST(KilnLaunch, AFailingRankStopsTheOthers) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_cli(kiln_binary(),
                   "launch -n 3 --grace-period 1 -- sh -c 'if [ $RANK = 1 ]; then sleep 0.2; exit 3; fi; sleep 60'",
                   scratch("fail"));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, 3) << r.describe();
  EXPECT_TRUE(has(r.err, "kiln launch: failed: rank 1 (pid")) << r.describe();
  EXPECT_TRUE(has(r.err, "exited with status 3")) << r.describe();
  EXPECT_LT(s, 20) << r.describe();
}

// A rank killed by a signal, and others that ignore SIGTERM: SIGKILL follows after the grace period.
TEST(KilnLaunch, AKilledRankAndStubbornOthers) {
  auto start = std::chrono::steady_clock::now();
  auto r = run_cli(kiln_binary(),
                   "launch -n 2 --grace-period 0.5 -- sh -c 'trap \"\" TERM; if [ $RANK = 0 ]; then sleep 0.2; "
                   "kill -9 $$; fi; sleep 60'",
                   scratch("killed"));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, 128 + 9) << r.describe();
  EXPECT_TRUE(has(r.err, "rank 0 (pid")) << r.describe();
  EXPECT_TRUE(has(r.err, "killed by signal 9")) << r.describe();
  EXPECT_LT(s, 20) << r.describe();
}

// Ctrl-C (SIGINT to the launcher) reaches every rank; the launcher exits 130 once they have stopped.
TEST(KilnLaunch, InterruptIsForwardedToTheRanks) {
  std::string marker = scratch("int_marker");
  std::remove((marker + "0").c_str());
  std::remove((marker + "1").c_str());
  // Each rank records the signal it got; the shell runs the launcher in the background and interrupts it.
  std::string script = "'" + kiln_binary() + "' launch -n 2 -- sh -c 'trap \"echo int > " + marker +
                       "$RANK; exit 5\" INT; echo ready; while :; do sleep 0.05; done' & pid=$!; sleep 1.5; "
                       "kill -INT $pid; wait $pid; echo launcher=$?";
  std::string cmd = "( " + script + " ) > '" + scratch("int") + ".out' 2> '" + scratch("int") + ".err'";
  int status = std::system(cmd.c_str());
  ASSERT_NE(status, -1);
  std::string out = kiln::test::slurp(scratch("int") + ".out"), err = kiln::test::slurp(scratch("int") + ".err");
  EXPECT_TRUE(has(out, "launcher=130")) << out << err;
  EXPECT_TRUE(has(kiln::test::slurp(marker + "0"), "int")) << out << err;
  EXPECT_TRUE(has(kiln::test::slurp(marker + "1"), "int")) << out << err;
}

TEST(KilnLaunch, BadArgumentsAreClearErrors) {
  auto none = run_cli(kiln_binary(), "launch -n 2", scratch("nocmd"));
  EXPECT_TRUE(none.exited && none.code != 0) << none.describe();
  auto nodes = run_cli(kiln_binary(), "launch -n 2 --nodes 2 -- true", scratch("nomaster"));
  EXPECT_TRUE(nodes.exited && nodes.code == 1 && has(nodes.err, "--master")) << nodes.describe();
  auto port = run_cli(kiln_binary(), "launch -n 1 --master host:99999 -- true", scratch("badport"));
  EXPECT_TRUE(port.exited && port.code == 1 && has(port.err, "1..65535")) << port.describe();
  auto missing = run_cli(kiln_binary(), "launch -n 2 -- /nonexistent/program", scratch("noprog"));
  EXPECT_TRUE(missing.exited && missing.code == 127 && has(missing.err, "cannot run '/nonexistent/program'"))
      << missing.describe();
}

}  // namespace

namespace {
namespace fs = std::filesystem;

// The README's command on a slice of Fashion-MNIST: two ranks train one model; rank 0 alone prints and saves a
// checkpoint that a plain, non-distributed `kiln eval` and `kiln train --resume` read.
TEST(KilnLaunch, DistributedTrainOnTwoRanks) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "Fashion-MNIST is not installed";
  std::string out = scratch("train_out");
  fs::remove_all(out);
  auto r = run_cli(kiln_binary(),
                   "launch -n 2 -- kiln train --device cpu --epochs 1 --limit 512 --hidden 32 --out '" + out + "'",
                   scratch("train"));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_TRUE(has(r.out, "[rank 0] distributed: 2 ranks (gloo), --batch-size 64 per rank")) << r.describe();
  EXPECT_TRUE(has(r.out, "[rank 0] data: fashion-mnist")) << r.describe();
  EXPECT_TRUE(has(r.out, "[rank 0] test accuracy")) << r.describe();
  EXPECT_TRUE(has(r.out, "x 2 ranks")) << r.describe();
  EXPECT_FALSE(has(r.out, "[rank 1]")) << r.describe();  // the other ranks are silent
  ASSERT_TRUE(fs::exists(out + "/checkpoint.safetensors")) << r.describe();
  ASSERT_TRUE(fs::exists(out + "/metrics.jsonl")) << r.describe();

  // The checkpoint holds the inner module's names, so the single-process tools read it.
  auto e = run_cli(kiln_binary(), "eval --device cpu --json --checkpoint '" + out + "/checkpoint.safetensors'",
                   scratch("train_eval"));
  ASSERT_TRUE(e.exited && e.code == 0) << e.describe();
  auto j = e.last_json();
  ASSERT_TRUE(j.is_object()) << e.describe();
  EXPECT_GT(j.value("accuracy", 0.0), 0.3) << e.describe();  // trained (10 classes: chance is 0.1)
  auto resumed = run_cli(kiln_binary(),
                         "train --device cpu --epochs 2 --limit 512 --hidden 32 --resume --json --out '" + out + "'",
                         scratch("train_resume"));
  ASSERT_TRUE(resumed.exited && resumed.code == 0) << resumed.describe();
  EXPECT_EQ(resumed.last_json().value("epochs_run", -1), 1) << resumed.describe();
  EXPECT_EQ(resumed.last_json().value("world_size", -1), 1) << resumed.describe();
}

// A rank that fails in kiln train before joining the job (rank 1 asks for 0 epochs) leaves rank 0 waiting for
// it at the rendezvous: kiln launch stops rank 0 and exits non-zero naming rank 1.
TEST(KilnLaunch, DistributedTrainFailureStopsTheJob) {
  const std::string data = scratch("tiny");
  kiln::test::write_tiny_mnist(data, 64, 32);
  auto start = std::chrono::steady_clock::now();
  auto r = run_cli(kiln_binary(),
                   "launch -n 2 --grace-period 1 -- sh -c 'exec \"$0\" train --device cpu --epochs $((1 - RANK)) "
                   "--dataset mnist --data " + data + " --out " + scratch("fail_out") + "' '" + kiln_binary() + "'",
                   scratch("train_fail"));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_TRUE(has(r.err, "kiln launch: failed: rank 1 (pid")) << r.describe();
  EXPECT_TRUE(has(r.err, "[rank 1] kiln: error: --epochs must be at least 1")) << r.describe();
  EXPECT_LT(s, 30) << r.describe();
}

}  // namespace
