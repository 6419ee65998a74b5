// A training step on CUDA makes no host wait: checked by counting the waits (cuda::sync_counts, which every
// wait goes through) and by running steps in SyncDebugMode::Error. Bad indices and targets are found by
// device-side checks and raised at the next wait, leaving the process usable. Named *CUDA* (CTest's cuda
// label); skips without a GPU, fails under KILN_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/adam.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/train/model.h"

namespace kiln {
namespace {
namespace F = nn::functional;

const Device kGpu("cuda:0");

struct DebugModeScope {
  explicit DebugModeScope(cuda::SyncDebugMode m) { cuda::set_sync_debug_mode(m); }
  ~DebugModeScope() { cuda::set_sync_debug_mode(cuda::SyncDebugMode::Off); }
};

Tensor gpu_index(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return tensor(v, {n}).to(kGpu);
}

using test::message_of;

TEST(SyncFreeStepCUDA, MlpCrossEntropyAdamStepsNeverWait) {
  KILN_SKIP_WITHOUT_GPU();
  manual_seed(1);
  nn::Sequential net(nn::Linear(20, 64), nn::ReLU(), nn::Linear(64, 5));
  net->to(kGpu);
  optim::Adam opt(net->parameters(), optim::AdamOptions(1e-3));
  Tensor x = randn({32, 20}).to(kGpu);
  Tensor y = randint(0, 5, {32}).to(kGpu);
  auto step = [&] {
    opt.zero_grad();
    Tensor loss = F::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  step();  // the first step arms the device-side checks and fills the allocator's pools
  cuda::synchronize();
  const cuda::SyncCounts before = cuda::sync_counts();
  Tensor loss;
  {
    DebugModeScope error_mode(cuda::SyncDebugMode::Error);  // any wait inside a step throws
    for (int i = 0; i < 5; ++i) loss = step();
  }
  const cuda::SyncCounts after = cuda::sync_counts();
  EXPECT_EQ(after.total(), before.total()) << "implicit " << after.implicit - before.implicit << ", internal "
                                           << after.internal - before.internal;
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
}

TEST(SyncFreeStepCUDA, FitOnHostTensorsWaitsPerEpochNotPerBatch) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor x = randn({512, 8});
  Tensor y = randint(0, 3, {512});
  auto waits_for_batch_size = [&](int64_t batch) {
    manual_seed(2);
    nn::Sequential seq(nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 3));
    seq->to(kGpu);
    train::Model model(seq);
    model.compile("adam", "cross_entropy", {"accuracy"}, 1e-2);
    train::FitOptions o;
    o.batch_size = batch;
    model.fit(x, y, o);  // warm-up epoch
    const int64_t before = cuda::sync_counts().total();
    model.fit(x, y, o);
    return cuda::sync_counts().total() - before;
  };
  const int64_t few = waits_for_batch_size(128);  // 4 batches
  const int64_t many = waits_for_batch_size(16);  // 32 batches
  EXPECT_EQ(few, many) << "the waits of an epoch must not grow with its batches";
  EXPECT_LE(many, 4);
}

TEST(SyncFreeStepCUDA, BadIndexIsRaisedAtTheNextWaitAndTheProcessStaysUsable) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor src = arange(5, TensorOptions(kFloat32)).to(kGpu);
  Tensor out;
  EXPECT_NO_THROW(out = index_select(src, 0, gpu_index({0, 7, 9})));  // queued, not waited for
  const std::string m = message_of([&] { out.cpu(); });
  EXPECT_NE(m.find("index_select: index 7 is out of bounds for dimension 0 with size 5"), std::string::npos) << m;
  EXPECT_NE(m.find("cuda:0"), std::string::npos) << m;
  // Raised once; the next ops and waits work.
  EXPECT_NO_THROW(cuda::synchronize());
  std::vector<float> got = index_select(src, 0, gpu_index({4, 1})).to_vector<float>();
  EXPECT_EQ(got, (std::vector<float>{4, 1}));
  // Only the first failure since the last report is kept.
  index_select(src, 0, gpu_index({5}));
  gather(src, 0, gpu_index({6}));
  const std::string first = message_of([] { cuda::synchronize(); });
  EXPECT_NE(first.find("index 5 "), std::string::npos) << first;
  EXPECT_NO_THROW(cuda::synchronize());
}

TEST(SyncFreeStepCUDA, ScatterWithABadIndexLeavesSelfUntouched) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor self = zeros({5}).to(kGpu);
  scatter_(self, 0, gpu_index({1, 9}), ones({2}).to(kGpu));
  EXPECT_THROW(cuda::synchronize(), IndexError);
  EXPECT_EQ(self.to_vector<float>(), std::vector<float>(5, 0.0f));
}

TEST(SyncFreeStepCUDA, BadTargetsAndProbabilitiesAreRaisedAtItem) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor logits = randn({4, 3}).to(kGpu);
  Tensor loss = F::cross_entropy(logits, gpu_index({0, 1, 7, 2}));
  const std::string m = message_of([&] { loss.item<double>(); });
  EXPECT_NE(m.find("cross_entropy: target 7 is out of bounds"), std::string::npos) << m;
  EXPECT_TRUE(std::isfinite(F::cross_entropy(logits, gpu_index({0, 1, 2, 2})).item<double>()));
  Tensor p = tensor(std::vector<float>{0.5f, 1.5f}, {2}).to(kGpu);
  Tensor bce = F::binary_cross_entropy(p, zeros({2}).to(kGpu));
  EXPECT_THROW(bce.item<double>(), ValueError);
  Tensor r = remainder(gpu_index({5, 6}), gpu_index({2, 0}));
  EXPECT_THROW(r.cpu(), ValueError);
}

TEST(SyncFreeStepCUDA, ErrorModeRefusesItemButNotRequestedWaits) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor t = ones({3}).to(kGpu);
  DebugModeScope error_mode(cuda::SyncDebugMode::Error);
  const std::string m = message_of([&] { t.sum().item<double>(); });
  EXPECT_NE(m.find("synchronizing CUDA operation"), std::string::npos) << m;
  EXPECT_NO_THROW(cuda::synchronize());
  EXPECT_NO_THROW(cuda::current_stream().synchronize());
}

TEST(SyncFreeStepCUDA, UploadFromPageableMemoryDoesNotWait) {
  KILN_SKIP_WITHOUT_GPU();
  std::vector<float> host(1000, 1.0f);
  Tensor src = tensor(host, {1000});
  Tensor warm = src.to(kGpu);
  cuda::synchronize();
  const cuda::SyncCounts before = cuda::sync_counts();
  Tensor dev;
  {
    DebugModeScope error_mode(cuda::SyncDebugMode::Error);
    dev = src.to(kGpu);
  }
  EXPECT_EQ(cuda::sync_counts().total(), before.total());
  src.fill_(2.0);  // the source may change at once: the upload was staged
  EXPECT_EQ(dev.to_vector<float>(), std::vector<float>(1000, 1.0f));
}
}  // namespace
}  // namespace kiln
