// Runs a test scenario in N processes of this test binary on loopback, with torchrun's variables, under a hard limit.
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace kiln::test {

/// How one spawned rank ended.
struct RankResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that killed it, 0 when it exited
  std::string output;  // its stdout and stderr
};

struct GroupResult {
  bool timed_out = false;  // the hard limit passed and the parent killed the ranks still running
  std::vector<RankResult> ranks;
  /// Every rank's output, labelled, for failure messages.
  std::string dump() const;
};

/// The environment variable that makes this binary's main() run a scenario instead of the tests.
inline constexpr const char* kScenarioVar = "KILN_DIST_TEST_SCENARIO";

/// A TCP port that was free a moment ago (bound with port 0 on loopback, then released).
int free_port();

/// Starts world_size copies of this binary (fork and exec of /proc/self/exe) with RANK, WORLD_SIZE, LOCAL_RANK,
/// MASTER_ADDR=127.0.0.1, a free MASTER_PORT, kScenarioVar=scenario and extra_env ("NAME=value"), and waits for
/// them. After hard_limit every rank still running is killed (SIGKILL) and timed_out is set: a broken collective
/// can fail the test but never hang it.
GroupResult spawn_group(int world_size, const std::string& scenario, std::chrono::milliseconds hard_limit,
                        const std::vector<std::string>& extra_env = {});

/// Runs the scenario named by kScenarioVar in this process (called by main); returns the exit code.
int run_scenario(const std::string& name);

}  // namespace kiln::test
