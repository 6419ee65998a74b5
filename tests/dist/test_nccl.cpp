// The NCCL backend: a clear error without a GPU (or without NCCL in the build); on a GPU, a one-rank communicator's
// collectives and DDP on it (the GPU runner's nccl step; several GPUs are not available to the tests).
#include <gtest/gtest.h>

#include "gpu_skip.h"
#include "kiln/core/generator.h"
#include "kiln/dist/process_group.h"
#include "kiln/nn/container.h"
#include "kiln/nn/distributed.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::dist {
namespace {
using namespace std::chrono_literals;

std::shared_ptr<ProcessGroup> one_rank_nccl_group() {
  return new_group("nccl", std::make_shared<TCPStore>("127.0.0.1", 0, true, 10000ms), 0, 1, {10000ms});
}

TEST(NcclProcessGroup, WithoutAGpuOrNcclTheErrorSaysWhy) {
#if KILN_TEST_WITH_NCCL
  if (cuda::is_available()) GTEST_SKIP() << "a GPU is usable: the GPU tests below cover the backend";
  try {
    one_rank_nccl_group();
    FAIL() << "an nccl group was made without a GPU";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("needs CUDA tensors and a GPU"), std::string::npos) << e.what();
  }
#else
  try {
    one_rank_nccl_group();
    FAIL() << "an nccl group was made in a build without NCCL";
  } catch (const NotImplemented& e) {
    EXPECT_NE(std::string(e.what()).find("built without the \"nccl\" backend"), std::string::npos) << e.what();
  }
#endif
}

#if KILN_TEST_WITH_NCCL
Tensor on_gpu(std::vector<float> v) { return tensor(v, {static_cast<int64_t>(v.size())}).to(Device("cuda:0")); }

TEST(NcclProcessGroup, OneRankCollectivesOnTheGpu) {
  KILN_SKIP_WITHOUT_GPU();
  auto pg = one_rank_nccl_group();
  EXPECT_EQ(pg->backend(), "nccl");
  const std::vector<float> v{1.5f, -2.f, 3.f};
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
    Tensor t = on_gpu(v);
    pg->all_reduce(t, op)->wait();  // the current stream waits; to_vector's copy runs after it
    EXPECT_EQ(t.cpu().to_vector<float>(), v) << reduce_op_name(op);
  }
  Tensor b = on_gpu(v);
  auto work = pg->broadcast(b, 0);
  work->synchronize();  // the host wait
  EXPECT_TRUE(work->is_completed());
  EXPECT_EQ(b.cpu().to_vector<float>(), v);
  std::vector<Tensor> gathered{zeros({3}, TensorOptions(kFloat32).device(Device("cuda:0")))};
  pg->all_gather(gathered, on_gpu(v))->wait();
  EXPECT_EQ(gathered[0].cpu().to_vector<float>(), v);
  Tensor scattered = zeros({3}, TensorOptions(kFloat32).device(Device("cuda:0")));
  pg->reduce_scatter(scattered, {on_gpu(v)}, ReduceOp::Sum)->wait();
  EXPECT_EQ(scattered.cpu().to_vector<float>(), v);
  pg->barrier()->synchronize();
  EXPECT_THROW(pg->all_reduce(zeros({2})), DeviceError);  // a CPU tensor
  EXPECT_THROW(pg->all_reduce(zeros({2}, TensorOptions(kBool).device(Device("cuda:0")))), DTypeError);
}

// DDP over a one-rank NCCL group: the averaged gradient is the gradient, so training matches plain training.
TEST(NcclDistributedDataParallel, OneRankMatchesPlainTraining) {
  KILN_SKIP_WITHOUT_GPU();
  auto pg = one_rank_nccl_group();
  auto make = [] {
    manual_seed(5);
    auto m = nn::Sequential(nn::Linear(6, 16), nn::Tanh(), nn::Linear(16, 3));
    m->to(Device("cuda:0"));
    return m;
  };
  auto ddp_model = make(), plain = make();
  nn::DistributedDataParallelOptions opts;
  opts.bucket_cap_bytes = 256;  // several buckets in flight on the NCCL stream
  nn::DistributedDataParallel ddp(ddp_model.ptr(), pg, opts);
  optim::SGD a(ddp_model->parameters(), optim::SGDOptions(0.1)), b(plain->parameters(), optim::SGDOptions(0.1));
  Generator gen(3);
  for (int step = 0; step < 4; ++step) {
    Tensor x = randn({8, 6}, {}, &gen).to(Device("cuda:0")), y = randn({8, 3}, {}, &gen).to(Device("cuda:0"));
    a.zero_grad();
    nn::functional::mse_loss(ddp_model->forward(x), y).backward();
    a.step();
    b.zero_grad();
    nn::functional::mse_loss(plain->forward(x), y).backward();
    b.step();
  }
  auto p = ddp_model->parameters(), q = plain->parameters();
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i].cpu().to_vector<float>(), q[i].cpu().to_vector<float>()) << i;
}
#endif

}  // namespace
}  // namespace kiln::dist
