// Model parallelism: consecutive layers on different devices with explicit activation moves give the output and
// the gradients of the same model on one device (two CPU devices here; cuda:0 + cpu and cuda:0 + cuda:1 on GPUs).
#include <gtest/gtest.h>

#include "gpu_skip.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace {
using namespace kiln;
namespace F = kiln::nn::functional;

// The first stage on dev0, the second on dev1; forward moves the activations across, as PyTorch's tutorial.
class TwoStageNetImpl : public nn::Module {
 public:
  TwoStageNetImpl(Device dev0, Device dev1) : dev0(dev0), dev1(dev1) {
    stage1 = register_module("stage1", nn::Sequential(nn::Linear(6, 8), nn::Tanh()));
    stage2 = register_module("stage2", nn::Linear(8, 3));
    stage1->to(dev0, kFloat64);
    stage2->to(dev1, kFloat64);
  }
  Tensor forward(const Tensor& x) { return stage2(stage1->forward(x.to(dev0)).to(dev1)); }

  Device dev0, dev1;
  nn::Sequential stage1{nullptr};
  nn::Linear stage2{nullptr};
};
KILN_MODULE(TwoStageNet);

void expect_model_parallel_matches_one_device(Device dev0, Device dev1) {
  const Device cpu("cpu");
  manual_seed(2);
  TwoStageNet split(dev0, dev1);
  nn::Sequential whole(nn::Linear(6, 8), nn::Tanh(), nn::Linear(8, 3));
  whole->to(kFloat64);
  // The same weights: the split model's names are stage1.0.*, stage2.*; the whole one's 0.*, 2.*.
  auto w = split->state_dict();
  whole->load_state_dict({{"0.weight", w.at("stage1.0.weight")},
                          {"0.bias", w.at("stage1.0.bias")},
                          {"2.weight", w.at("stage2.weight")},
                          {"2.bias", w.at("stage2.bias")}});
  EXPECT_EQ(split->stage1[0]->parameters()[0].device(), dev0);
  EXPECT_EQ(split->stage2->weight.device(), dev1);

  Tensor x = test::leaf(test::rnd({5, 6}, cpu)), y = test::rnd({5, 3}, cpu, kFloat64, 3);
  Tensor x_whole = test::leaf(x);
  Tensor out = split(x);
  EXPECT_EQ(out.device(), dev1);
  Tensor loss = F::mse_loss(out, y.to(dev1));
  loss.backward();
  Tensor ref_loss = F::mse_loss(whole->forward(x_whole), y);
  ref_loss.backward();
  EXPECT_NEAR(loss.item<double>(), ref_loss.item<double>(), 1e-12);

  auto got = split->named_parameters(), want = whole->named_parameters();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].second.grad().device(), got[i].second.device()) << got[i].first;
    test::expect_close(got[i].second.grad().to(cpu), want[i].second.grad(), 1e-10, 1e-12);
  }
  // The gradient crossed both moves back to the input on its own device.
  test::expect_close(x.grad(), x_whole.grad(), 1e-10, 1e-12);
}

TEST(ModelParallel, TwoCpuDevicesGiveTheOneDeviceGradients) {
  expect_model_parallel_matches_one_device(Device("cpu"), Device("cpu"));
}

// float64 finite differences through both stages and the moves between them.
TEST(ModelParallel, GradcheckAcrossTheStages) {
  manual_seed(4);
  TwoStageNet split(Device("cpu"), Device("cpu"));
  test::gradcheck_module(*split, {test::leaf(test::rnd({3, 6}, Device("cpu")))},
                         [&](const std::vector<Tensor>& in) { return split(in[0]); });
}

TEST(ModelParallelCUDA, GpuThenCpuGiveTheOneDeviceGradients) {
  KILN_SKIP_WITHOUT_GPU();
  expect_model_parallel_matches_one_device(Device("cuda:0"), Device("cpu"));
}

TEST(ModelParallelCUDA, TwoGpusGiveTheOneDeviceGradients) {
  KILN_SKIP_WITHOUT_GPU();
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two GPUs, " << cuda::device_count() << " visible";
  expect_model_parallel_matches_one_device(Device("cuda:0"), Device("cuda:1"));
}
}  // namespace
