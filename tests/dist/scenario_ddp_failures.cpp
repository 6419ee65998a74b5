// DDP when something goes wrong: replicas of different shapes, and a rank killed in the middle of training.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dist/spawn.h"
#include "kiln/core/generator.h"
#include "kiln/dist/process_group.h"
#include "kiln/nn/container.h"
#include "kiln/nn/distributed.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::test {
namespace {

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::chrono::milliseconds timeout_from_env(int default_ms) {
  const char* v = std::getenv("KILN_DIST_TEST_TIMEOUT_MS");
  return std::chrono::milliseconds(v ? std::atoi(v) : default_ms);
}

}  // namespace

// The last rank builds its second layer one unit wider: every rank must refuse at construction, naming it.
int ddp_mismatched_shapes() {
  auto pg = dist::init_process_group("gloo", {timeout_from_env(20000)});
  const int r = pg->rank(), w = pg->size();
  const int64_t hidden = r == w - 1 ? 9 : 8;
  auto model = nn::Sequential(nn::Linear(4, 8), nn::Tanh(), nn::Linear(8, hidden)).ptr();
  try {
    nn::DistributedDataParallel ddp(model, pg);
    expect(false, "DDP accepted replicas of different shapes");
  } catch (const dist::DistError& e) {
    std::string msg = e.what();
    std::printf("rank %d: %s\n", r, msg.c_str());
    expect(has(msg, "parameter #2 ('2.weight'"), "the message names the first differing parameter: " + msg);
    expect(has(msg, "[8, 8] float32 on rank 0"), "the message gives rank 0's shape: " + msg);
    expect(has(msg, "[9, 8] float32 on rank " + std::to_string(w - 1)), "the message gives the odd rank's shape: " + msg);
  }
  pg->barrier()->wait();
  dist::destroy_process_group();
  return failures == 0 ? 0 : 1;
}

// Training with DDP; the last rank dies (SIGKILL) at step 3. The others' backward must throw DistError naming the
// collective within the group's timeout, never hang.
int ddp_rank_killed_mid_training() {
  auto timeout = timeout_from_env(3000);
  auto pg = dist::init_process_group("gloo", {timeout});
  const int r = pg->rank(), w = pg->size();
  manual_seed(7);
  auto model = nn::Sequential(nn::Linear(4, 16), nn::Tanh(), nn::Linear(16, 2)).ptr();
  nn::DistributedDataParallel ddp(model, pg);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05));
  Generator gen(99 + static_cast<uint64_t>(r));
  auto seq = std::static_pointer_cast<nn::SequentialImpl>(model);
  for (int step = 0; step < 100; ++step) {
    if (step == 3 && r == w - 1) ::raise(SIGKILL);
    Tensor x = randn({8, 4}, {}, &gen), y = randn({8, 2}, {}, &gen);
    opt.zero_grad();
    Tensor loss = nn::functional::mse_loss(seq->forward(x), y);
    auto start = std::chrono::steady_clock::now();
    try {
      loss.backward();
    } catch (const dist::DistError& e) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      std::printf("DistError at step %d after %lld ms: %s\n", step, static_cast<long long>(ms), e.what());
      expect(step == 3, "the failure comes at the step the peer died, got step " + std::to_string(step));
      expect(has(e.what(), "all_reduce"), "the message names the collective");
      expect(has(e.what(), "rank " + std::to_string(r) + " of " + std::to_string(w)), "the message names this rank");
      expect(ms < timeout.count() + 2000, "failed within the timeout plus 2 s");
      std::fflush(nullptr);
      ::_exit(failures == 0 ? 0 : 1);  // no teardown with a dead peer
    }
    opt.step();
  }
  std::fprintf(stderr, "FAILED: training went on without the killed rank\n");
  std::fflush(nullptr);
  ::_exit(1);
}

}  // namespace kiln::test
