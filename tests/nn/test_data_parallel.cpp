// Tests for nn::DataParallel: training over 2 and 3 CPU "devices" equals single-device training (float64 and
// float32, uneven and short batches, BatchNorm's per-chunk semantics), concurrency, state_dict, errors; CUDA.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gpu_skip.h"
#include "kiln/amp/autocast.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/nn/container.h"
#include "kiln/nn/data_parallel.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/batchnorm.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace {
using namespace kiln;
namespace F = kiln::nn::functional;

const Device kCpu("cpu");

nn::Sequential make_mlp(DType dt, Device dev = kCpu) {
  nn::Sequential net(nn::Linear(5, 8), nn::ReLU(), nn::Linear(8, 3));
  net->to(dev, dt);
  return net;
}

nn::Sequential make_bn_net(DType dt, Device dev = kCpu) {
  nn::Sequential net(nn::Linear(5, 8), nn::BatchNorm1d(8), nn::ReLU(), nn::Linear(8, 3));
  net->to(dev, dt);
  return net;
}

// Batches of 6, 7 (uneven over 2 and 3), 2 (fewer rows than 3 devices), 1 and 5 rows by default.
std::vector<std::pair<Tensor, Tensor>> batches(DType dt, std::vector<int64_t> sizes = {6, 7, 2, 1, 5}) {
  std::vector<std::pair<Tensor, Tensor>> out;
  uint64_t seed = 10;
  for (int64_t rows : sizes)
    out.emplace_back(test::rnd({rows, 5}, kCpu, dt, seed++), test::rnd({rows, 3}, kCpu, dt, seed++));
  return out;
}

// SGD with momentum over the batches; forward is the model under test, params what the optimizer updates.
void train(const std::function<Tensor(const Tensor&)>& forward, const std::vector<Tensor>& params, DType dt,
           Device dev = kCpu, std::vector<int64_t> sizes = {6, 7, 2, 1, 5}) {
  optim::SGD opt(params, optim::SGDOptions(0.1).momentum(0.9));
  for (auto& [x, y] : batches(dt, sizes)) {
    opt.zero_grad();
    F::mse_loss(forward(x.to(dev)), y.to(dev)).backward();
    opt.step();
  }
}

void expect_same_state(nn::Module& actual, nn::Module& expected, double tol) {
  auto a = actual.state_dict(), e = expected.state_dict();
  ASSERT_EQ(a.size(), e.size());
  for (auto& [name, t] : e) test::expect_close(a.at(name).to(kCpu), t.to(kCpu), tol, tol);
}

// DataParallel over `devices` and a plain copy of the same model train on the same batches.
template <typename Make>
void expect_matches_single_device(Make make, std::vector<Device> devices, DType dt, double tol) {
  manual_seed(3);
  auto plain = make(dt, kCpu);
  auto wrapped = make(dt, devices[0]);
  wrapped->load_state_dict(plain->state_dict());
  nn::DataParallel dp(wrapped, devices, [&] { return make(dt, kCpu); });
  train([&](const Tensor& x) { return plain->forward(x); }, plain->parameters(), dt);
  train([&](const Tensor& x) { return dp(x); }, dp->parameters(), dt, devices[0]);
  expect_same_state(*wrapped, *plain, tol);
}

TEST(DataParallel, TwoCpuDevicesTrainAsOneFloat64) {
  expect_matches_single_device(make_mlp, {kCpu, kCpu}, kFloat64, 1e-12);
}
TEST(DataParallel, ThreeCpuDevicesTrainAsOneFloat64) {
  expect_matches_single_device(make_mlp, {kCpu, kCpu, kCpu}, kFloat64, 1e-12);
}
TEST(DataParallel, ThreeCpuDevicesTrainAsOneFloat32) {
  expect_matches_single_device(make_mlp, {kCpu, kCpu, kCpu}, kFloat32, 1e-5);
}
TEST(DataParallel, OneDeviceIsAThinWrapper) { expect_matches_single_device(make_mlp, {kCpu}, kFloat64, 0); }

// DataParallel's documented BatchNorm semantics (PyTorch's): each replica normalises its own chunk with that
// chunk's statistics, and the running statistics are those the primary's chunk (the first) produced.
Tensor chunkwise_forward(nn::Sequential& m, const Tensor& x, int64_t devices) {
  const int64_t rows = x.size(0), chunk = (rows + devices - 1) / devices;
  std::vector<Tensor> outs, after_first;
  for (int64_t begin = 0; begin < rows; begin += chunk) {
    outs.push_back(m->forward(x.narrow(0, begin, std::min(chunk, rows - begin))));
    if (begin == 0)
      for (auto& b : m->buffers()) after_first.push_back(b.clone());
  }
  {
    NoGradGuard no_grad;
    auto buffers = m->buffers();
    for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(after_first[i]);
  }
  return cat(outs, 0);
}

TEST(DataParallel, BatchNormNormalisesEachChunkAndKeepsThePrimarysRunningStats) {
  for (int64_t n : {2, 3}) {
    manual_seed(4);
    auto plain = make_bn_net(kFloat64), wrapped = make_bn_net(kFloat64);
    wrapped->load_state_dict(plain->state_dict());
    nn::DataParallel dp(wrapped, std::vector<Device>(n, kCpu), [] { return make_bn_net(kFloat64); });
    // Training-mode BatchNorm needs two rows per chunk: 8, 10 and 12 rows cut into 3+3+2, 4+4+2, 4+4+4 (or halves).
    const std::vector<int64_t> sizes = {8, 10, 12};
    train([&](const Tensor& x) { return chunkwise_forward(plain, x, n); }, plain->parameters(), kFloat64, kCpu, sizes);
    train([&](const Tensor& x) { return dp(x); }, dp->parameters(), kFloat64, kCpu, sizes);
    expect_same_state(*wrapped, *plain, 1e-12);
    // Eval mode uses the running statistics: the whole batch through one module equals the split one.
    dp->eval();
    plain->eval();
    Tensor x = test::rnd({7, 5}, kCpu, kFloat64, 99);
    test::expect_close(dp(x), plain->forward(x), 1e-12, 1e-12);
  }
}

TEST(DataParallel, GradientsLandOnThePrimaryOnly) {
  manual_seed(5);
  auto plain = make_mlp(kFloat64), wrapped = make_mlp(kFloat64);
  wrapped->load_state_dict(plain->state_dict());
  nn::DataParallel dp(wrapped, {kCpu, kCpu, kCpu}, [] { return make_mlp(kFloat64); });
  Tensor x = test::rnd({8, 5}, kCpu), y = test::rnd({8, 3}, kCpu, kFloat64, 2);
  F::mse_loss(dp(x), y).backward();
  F::mse_loss(plain->forward(x), y).backward();
  auto expected = plain->parameters(), got = wrapped->parameters();
  for (size_t i = 0; i < got.size(); ++i) test::expect_close(got[i].grad(), expected[i].grad(), 1e-12, 1e-12);
  for (size_t r = 1; r < 3; ++r)
    for (auto& p : dp->replica(r)->parameters()) EXPECT_FALSE(p.grad().defined()) << "replica " << r;
}

// float64 finite differences with respect to the input, through scatter, three replicas and gather (the
// parameters' gradients reach the primary by the hooks, which the equivalence tests above check).
TEST(DataParallel, GradcheckThroughScatterAndGather) {
  auto net = make_mlp(kFloat64);
  nn::DataParallel dp(net, {kCpu, kCpu, kCpu}, [] { return make_mlp(kFloat64); });
  test::expect_gradcheck([&](const autograd::TensorList& in) { return dp(in[0]); },
                         {test::leaf(test::rnd({7, 5}, kCpu))});
}

TEST(DataParallel, ForwardFollowsTheCallersGradModeAndTheModulesMode) {
  auto net = make_mlp(kFloat64);
  nn::DataParallel dp(net, {kCpu, kCpu}, [] { return make_mlp(kFloat64); });
  Tensor x = test::rnd({4, 5}, kCpu);
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(dp(x).requires_grad());
  }
  EXPECT_TRUE(dp(x).requires_grad());
  dp->eval();
  dp(x);
  EXPECT_FALSE(dp->replica(1)->is_training());
}

// Autocast is thread-local: every replica's thread runs under the caller's, so every chunk comes back in bfloat16
// and the float32 parameters get float32 gradients.
TEST(DataParallel, ReplicasRunUnderTheCallersAutocast) {
  auto net = make_mlp(kFloat32);
  nn::DataParallel dp(net, {kCpu, kCpu}, [] { return make_mlp(kFloat32); });
  Tensor x = test::rnd({6, 5}, kCpu).to(kFloat32);
  Tensor y;
  {
    amp::Autocast ac(kCPU, kBFloat16);
    y = dp(x);
  }
  EXPECT_EQ(y.dtype(), kBFloat16);
  y.to(kFloat32).sum().backward();
  for (const Tensor& p : net->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().dtype(), kFloat32);
  }
  EXPECT_EQ(dp(x).dtype(), kFloat32);  // and nothing stays on after the region
}

// Each replica's forward waits until every replica has started: it finishes only if they run at once.
TEST(DataParallel, ReplicasRunConcurrentlyOnOneThreadEach) {
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::thread::id> threads;
  int arrived = 0;
  const int devices = 3;
  auto forward = [&](nn::Module& m, const Tensor& x) {
    std::unique_lock<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
    ++arrived;
    cv.notify_all();
    const bool all = cv.wait_for(lock, std::chrono::seconds(20), [&] { return arrived == devices; });
    if (!all) throw ValueError("the replicas did not run concurrently");
    lock.unlock();
    return static_cast<nn::SequentialImpl&>(m).forward(x);
  };
  auto net = make_mlp(kFloat64);
  nn::DataParallelImpl dp(net.ptr(), forward, [] { return make_mlp(kFloat64).ptr(); }, {kCpu, kCpu, kCpu});
  Tensor out = dp.forward(test::rnd({9, 5}, kCpu));
  EXPECT_EQ(out.size(0), 9);
  EXPECT_EQ(threads.size(), 3u);
}

TEST(DataParallel, FewerRowsThanDevicesUsesFewerDevices) {
  auto net = make_mlp(kFloat64);
  int calls = 0;
  std::mutex mu;
  auto forward = [&](nn::Module& m, const Tensor& x) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
    }
    return static_cast<nn::SequentialImpl&>(m).forward(x);
  };
  nn::DataParallelImpl dp(net.ptr(), forward, [] { return make_mlp(kFloat64).ptr(); }, {kCpu, kCpu, kCpu});
  Tensor x = test::rnd({2, 5}, kCpu);
  test::expect_close(dp.forward(x), net->forward(x), 1e-12, 1e-12);
  EXPECT_EQ(calls, 2);  // torch.chunk(2 rows, 3) gives 2 chunks
  calls = 0;
  dp.forward(test::rnd({4, 5}, kCpu));
  EXPECT_EQ(calls, 2);  // chunks of ceil(4 / 3) = 2 rows: 2 + 2
}

TEST(DataParallel, StateDictHasPyTorchsPrefixAndTheModuleLoadsWithoutTheWrapper) {
  auto net = make_mlp(kFloat64);
  nn::DataParallel dp(net, {kCpu, kCpu}, [] { return make_mlp(kFloat64); });
  auto wrapped = dp->state_dict();
  EXPECT_TRUE(wrapped.count("module.0.weight"));
  EXPECT_EQ(wrapped.size(), net->state_dict().size());
  auto plain = make_mlp(kFloat64);
  plain->load_state_dict(dp->module()->state_dict());  // the checkpoint kiln train and MirroredStrategy write
  expect_same_state(*plain, *net, 0);
  auto other = make_mlp(kFloat64);
  nn::DataParallel dp2(other, {kCpu, kCpu}, [] { return make_mlp(kFloat64); });
  dp2->load_state_dict(wrapped);
  expect_same_state(*other, *net, 0);
  EXPECT_EQ(dp->parameters().size(), net->parameters().size());  // the replicas are not submodules
}

TEST(DataParallel, ACastAfterWrappingReachesTheReplicas) {
  auto net = make_mlp(kFloat32);
  nn::DataParallel dp(net, {kCpu, kCpu}, [] { return make_mlp(kFloat32); });
  dp->to(kFloat64);
  Tensor x = test::rnd({4, 5}, kCpu);
  test::expect_close(dp(x), net->forward(x), 1e-12, 1e-12);
  EXPECT_EQ(dp->replica(1)->parameters()[0].dtype(), kFloat64);
}

// PyTorch's signature: no factory; the replicas are clones, and training matches the single-device module.
TEST(DataParallel, ReplicasAreClonesWithoutAFactory) {
  auto net = make_mlp(kFloat64), single = make_mlp(kFloat64);
  single->load_state_dict(net->state_dict());
  nn::DataParallel dp(net, {kCpu, kCpu, kCpu});
  ASSERT_NE(dp->replica(1), net.ptr());
  Tensor x = test::rnd({7, 5}, kCpu);
  Tensor out = dp(x), ref = single->forward(x);
  test::expect_close(out, ref, 1e-12, 1e-12);
  out.sum().backward();
  ref.sum().backward();
  const auto p = net->parameters(), q = single->parameters();
  for (size_t i = 0; i < p.size(); ++i) test::expect_close(p[i].grad(), q[i].grad(), 1e-12, 1e-12);
}

TEST(DataParallel, BadArgumentsAreClearErrors) {
  auto net = make_mlp(kFloat64);
  // A module of one's own without clone_empty() needs a factory: the error says so.
  struct Plain : nn::Module {
    Plain() { register_parameter("w", test::rnd({2}, kCpu)); }
    Tensor forward(const Tensor& x) { return x; }
  };
  EXPECT_THROW_WITH((nn::DataParallelImpl(std::make_shared<Plain>(), nn::DataParallelImpl::forward_of<Plain>(), nullptr,
                                          {kCpu, kCpu})),
                    NotImplemented, "clone_empty");
  EXPECT_THROW_WITH((nn::DataParallel(net, {kCpu, kCpu}, [] { return nn::Sequential(nn::Linear(5, 3)); })), ValueError,
                    "same architecture");
  EXPECT_THROW_WITH((nn::DataParallel(net, {kCpu, Device("cuda:7")}, [] { return make_mlp(kFloat64); })), DeviceError,
                    "cuda:7");
  if (cuda::device_count() == 0)
    EXPECT_THROW_WITH((nn::DataParallel(net, {Device("cuda:0")}, [] { return make_mlp(kFloat64); })), DeviceError,
                      "CUDA_VISIBLE_DEVICES");
  EXPECT_THROW_WITH((nn::DataParallel(net, {kCpu, kCpu}, [&] { return net; })), ValueError, "itself");
  nn::DataParallel dp(net, {kCpu, kCpu}, [] { return make_mlp(kFloat64); });
  EXPECT_THROW_WITH((dp(scalar_tensor(1.0))), ShapeError, "dim 0");
  // A replica's error reaches the caller unchanged.
  EXPECT_THROW_WITH((dp(test::rnd({4, 6}, kCpu))), ShapeError, "");
}

// CUDA: two replicas on one GPU (threads, gather, gradient routing on the device) against float64 on the CPU.
TEST(DataParallelCUDA, TwoReplicasOnOneGpuTrainAsTheCpu) {
  KILN_SKIP_WITHOUT_GPU();
  const Device gpu("cuda:0");
  manual_seed(6);
  auto plain = make_mlp(kFloat64), wrapped = make_mlp(kFloat32, gpu);
  wrapped->load_state_dict(plain->state_dict());
  nn::DataParallel dp(wrapped, {gpu, gpu}, [] { return make_mlp(kFloat32); });
  train([&](const Tensor& x) { return plain->forward(x); }, plain->parameters(), kFloat64);
  train([&](const Tensor& x) { return dp(x.to(kFloat32)); }, dp->parameters(), kFloat32, gpu);
  expect_same_state(*wrapped, *plain, 1e-4);
}

TEST(DataParallelCUDA, OneGpuEqualsPlainTraining) {
  KILN_SKIP_WITHOUT_GPU();
  expect_matches_single_device(make_mlp, {Device("cuda:0")}, kFloat64, 1e-12);
}

TEST(DataParallelCUDA, TwoGpusTrainAsOne) {
  KILN_SKIP_WITHOUT_GPU();
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two GPUs, " << cuda::device_count() << " visible";
  expect_matches_single_device(make_mlp, {Device("cuda:0"), Device("cuda:1")}, kFloat64, 1e-10);
}

TEST(DataParallelCUDA, ModuleOffTheFirstDeviceIsAnError) {
  KILN_SKIP_WITHOUT_GPU();
  auto net = make_mlp(kFloat64);  // on the CPU
  if (cuda::device_count() >= 2) {  // an input on a GPU that is not one of the devices
    auto on_gpu = make_mlp(kFloat64, Device("cuda:0"));
    nn::DataParallel dp(on_gpu, {Device("cuda:0")}, [] { return make_mlp(kFloat64); });
    EXPECT_THROW_WITH((dp(test::rnd({4, 5}, Device("cuda:1")))), DeviceError, "cuda:1");
  }
  EXPECT_THROW_WITH((nn::DataParallel(net, {Device("cuda:0")}, [] { return make_mlp(kFloat64); })), DeviceError,
                    "device_ids[0]");
}
}  // namespace
