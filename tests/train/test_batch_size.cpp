// Tests for train::find_max_batch_size on the CPU: under a small CPU allocator limit the search really runs out
// of memory and backs off, and the model, optimizer, generator and allocator end as they started.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gpu_skip.h"
#include "kiln/core/cpu_memory.h"
#include "kiln/cuda/cuda.h"
#include "kiln/core/generator.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/adam.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/train/batch_size.h"
#include "kiln/train/model.h"

namespace {
using namespace kiln;

struct LimitReset {
  ~LimitReset() { cpu::set_memory_limit(0); }
};

struct Trainee {
  nn::Sequential net;
  std::shared_ptr<optim::Optimizer> opt;
  train::ForwardFn forward;
  train::LossFn loss = train::loss_by_name("cross_entropy");
  Trainee() {
    manual_seed(3);
    net = nn::Sequential(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(), nn::Linear(128, 10));
    opt = std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions(1e-3));
    forward = [m = net.ptr()](const Tensor& x) { return m->forward(x); };
  }
  train::BatchSizeResult find(const train::BatchSizeOptions& o) {
    return train::find_max_batch_size(*net, forward, loss, *opt, train::classification_batches({784}, Device("cpu")), o);
  }
  std::vector<std::vector<float>> params() const {
    std::vector<std::vector<float>> out;
    for (const Tensor& p : net->parameters()) out.push_back(p.cpu().contiguous().to_vector<float>());
    return out;
  }
};

TEST(FindMaxBatchSize, BacksOffUnderACpuLimitAndRestoresEverything) {
  LimitReset reset;
  Trainee s;
  // One real step first, so the optimizer has state the trials must not disturb.
  train::PlainStep step;
  auto [x0, y0] = train::classification_batches({784}, Device("cpu"))(8);
  step.run({*s.net, s.forward, s.loss, *s.opt}, x0 + 0.5, y0 + 1);
  s.opt->zero_grad();  // the search clears gradients; drop them first so the memory comparison is fair
  const auto params_before = s.params();
  const Tensor exp_avg_before = s.opt->state_dict().at("state.0.exp_avg").clone();
  const uint64_t offset_before = default_generator().offset();

  cpu::empty_cache();
  const int64_t allocated_before = cpu::memory_allocated();
  const int64_t limit = cpu::memory_reserved() + (24 << 20);
  cpu::set_memory_limit(limit);
  train::BatchSizeOptions o;
  o.start = 16;
  o.max = 1 << 20;
  train::BatchSizeResult r = s.find(o);

  EXPECT_GT(r.batch_size, 16);
  EXPECT_LT(r.batch_size, o.max);
  bool failed_once = false;
  for (auto& t : r.trials) failed_once |= !t.second;
  EXPECT_TRUE(failed_once) << "the limit never bit: the back-off did not run";
  EXPECT_NE(r.explanation.find("ran out of memory"), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find(std::to_string(r.batch_size)), std::string::npos) << r.explanation;

  EXPECT_EQ(s.params(), params_before);
  const Tensor exp_avg_after = s.opt->state_dict().at("state.0.exp_avg");
  EXPECT_EQ(exp_avg_after.to_vector<float>(), exp_avg_before.to_vector<float>());
  EXPECT_EQ(s.opt->state(s.net->parameters()[0])->step, 1);
  for (const Tensor& p : s.net->parameters()) EXPECT_FALSE(p.grad().defined());
  EXPECT_EQ(default_generator().offset(), offset_before);
  EXPECT_EQ(cpu::memory_allocated(), allocated_before) << "the search leaked memory";
  EXPECT_EQ(cpu::memory_limit(), limit);  // the user's limit is kept

  // The size it chose trains under the same limit.
  auto [x, y] = train::classification_batches({784}, Device("cpu"))(r.batch_size);
  EXPECT_NO_THROW(step.run({*s.net, s.forward, s.loss, *s.opt}, x, y));
}

TEST(FindMaxBatchSize, StopsAtMaxWhenEverythingFits) {
  Trainee s;
  train::BatchSizeOptions o;
  o.max = 48;
  train::BatchSizeResult r = s.find(o);
  EXPECT_EQ(r.batch_size, 48);
  EXPECT_EQ(r.trials.back(), std::make_pair(int64_t(48), true));
  // No CPU limit was set: the search ran under one from MemAvailable and removed it.
  EXPECT_NE(r.explanation.find("MemAvailable"), std::string::npos) << r.explanation;
  EXPECT_GT(r.memory_limit, 0);
  EXPECT_EQ(cpu::memory_limit(), 0);
  // A never-stepped optimizer is left without state.
  EXPECT_EQ(s.opt->state(s.net->parameters()[0]), nullptr);
}

TEST(FindMaxBatchSize, ThrowsWhenEvenTheFirstSizeDoesNotFit) {
  LimitReset reset;
  Trainee s;
  const auto params_before = s.params();
  cpu::empty_cache();
  cpu::set_memory_limit(cpu::memory_reserved() + (1 << 20));  // less than the Adam state of the first layer
  train::BatchSizeOptions o;
  o.start = 64;
  EXPECT_THROW(s.find(o), OutOfMemoryError);
  cpu::set_memory_limit(0);
  EXPECT_EQ(s.params(), params_before);
}

TEST(FindMaxBatchSize, RejectsBadOptions) {
  Trainee s;
  train::BatchSizeOptions o;
  o.start = 0;
  EXPECT_THROW(s.find(o), ValueError);
  o.start = 8;
  o.max = 4;
  EXPECT_THROW(s.find(o), ValueError);
}
// On a GPU, under a per-process fraction just above what is reserved, the search backs off on the caching
// allocator's OutOfMemoryError and leaves the GPU's memory and the model as they were.
TEST(FindMaxBatchSizeCUDA, BacksOffUnderAFractionAndRestoresEverything) {
  KILN_SKIP_WITHOUT_GPU();
  struct FractionReset {
    ~FractionReset() { cuda::set_per_process_memory_fraction(1.0, 0); }
  } reset;
  const Device gpu("cuda:0");
  Trainee s;
  s.net->to(gpu);
  s.opt = std::make_shared<optim::Adam>(s.net->parameters(), optim::AdamOptions(1e-3));
  const auto params_before = s.params();
  cuda::synchronize(0);
  cuda::empty_cache();
  const int64_t allocated_before = cuda::memory_allocated(0);
  const double total = static_cast<double>(cuda::mem_get_info(0).second);
  cuda::set_per_process_memory_fraction((static_cast<double>(cuda::memory_reserved(0)) + (256 << 20)) / total, 0);
  train::BatchSizeOptions o;
  o.start = 256;
  o.max = 1 << 22;
  train::BatchSizeResult r =
      train::find_max_batch_size(*s.net, s.forward, s.loss, *s.opt, train::classification_batches({784}, gpu), o);
  EXPECT_GT(r.batch_size, 256);
  EXPECT_LT(r.batch_size, o.max);
  bool failed_once = false;
  for (auto& t : r.trials) failed_once |= !t.second;
  EXPECT_TRUE(failed_once) << "the fraction never bit: the back-off did not run";
  EXPECT_NE(r.explanation.find("ran out of memory"), std::string::npos) << r.explanation;
  EXPECT_EQ(s.params(), params_before);
  EXPECT_EQ(s.opt->state(s.net->parameters()[0]), nullptr);
  EXPECT_EQ(cuda::memory_allocated(0), allocated_before) << "the search leaked GPU memory";
}
}  // namespace
