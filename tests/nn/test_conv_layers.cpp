// Conv, pooling and batch-norm layers: shapes, PyTorch's initialisation bounds and printing, state_dict names
// and round trips, train/eval behaviour, gradcheck through the parameters, and constructor errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/batchnorm.h"
#include "kiln/nn/layers/conv.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/pooling.h"
#include "kiln/tensor/ops/reduce.h"
#include "nn/nn_test_util.h"
#include "ops/conv_test_devices.h"
#include "test_util.h"

namespace kiln::test {
namespace {

class NNConvLayers : public DeviceTest {};

std::string printed(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

nn::Sequential small_cnn() {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)), nn::BatchNorm2d(4), nn::ReLU(),
                        nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(4, 6, 3).bias(false)), nn::BatchNorm2d(6),
                        nn::ReLU(), nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(6, 3));
}

TEST(NNConvLayers, PrintsLikePyTorch) {
  EXPECT_EQ(printed(*nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1))),
            "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(printed(*nn::Conv2d(nn::Conv2dOptions(4, 8, {3, 5}).stride(2).dilation({1, 2}).groups(2).bias(false))),
            "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), dilation=(1, 2), groups=2, bias=False)");
  EXPECT_EQ(printed(*nn::Conv1d(nn::Conv1dOptions(3, 6, 5).padding("same"))),
            "Conv1d(3, 6, kernel_size=(5,), stride=(1,), padding=same)");
  EXPECT_EQ(printed(*nn::MaxPool2d(2)), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  EXPECT_EQ(printed(*nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1))),
            "AvgPool2d(kernel_size=3, stride=1, padding=1)");
  EXPECT_EQ(printed(*nn::AdaptiveAvgPool2d(nn::ExpandingArray<2>({7, 5}))), "AdaptiveAvgPool2d(output_size=(7, 5))");
  EXPECT_EQ(printed(*nn::BatchNorm2d(32)),
            "BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
}

TEST(NNConvLayers, InitialisesAsPyTorch) {
  manual_seed(3);
  nn::Conv2d conv(nn::Conv2dOptions(6, 8, 3).groups(2));
  EXPECT_EQ(conv->weight.sizes(), (Shape{8, 3, 3, 3}));
  // kaiming_uniform_(a=sqrt(5)) and the bias both give U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 3 * 3 * 3.
  const double bound = 1.0 / std::sqrt(27.0);
  for (double v : values(conv->weight)) EXPECT_LE(std::fabs(v), bound);
  for (double v : values(conv->bias)) EXPECT_LE(std::fabs(v), bound);
  double largest = 0;
  for (double v : values(conv->weight)) largest = std::max(largest, std::fabs(v));
  EXPECT_GT(largest, 0.8 * bound);
  nn::BatchNorm1d bn(5);
  EXPECT_EQ(values(bn->weight), std::vector<double>(5, 1.0));
  EXPECT_EQ(values(bn->bias), std::vector<double>(5, 0.0));
  EXPECT_THROW_WITH(nn::Conv2d(nn::Conv2dOptions(6, 8, 3).groups(4)), ValueError, "groups=4 must divide");
  EXPECT_THROW_WITH(nn::Conv2d(nn::Conv2dOptions(6, 8, 0)), ValueError, "kernel_size must be positive");
  EXPECT_THROW_WITH(nn::BatchNorm2d(0), ValueError, "num_features");
}

TEST_P(NNConvLayers, SmallCnnRunsTrainsAndRoundTrips) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(1);
  auto model = small_cnn();
  model->to(dev());
  Tensor x = rnd({5, 1, 8, 8}, dev(), kFloat32);
  Tensor y = model->forward(x);
  EXPECT_EQ(y.sizes(), (Shape{5, 3}));
  sum(y).backward();
  for (const auto& [name, p] : model->named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;

  StateDict sd = model->state_dict();
  for (const char* key : {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                          "1.num_batches_tracked", "4.weight", "5.running_var", "9.weight"})
    EXPECT_TRUE(sd.count(key)) << key;
  EXPECT_FALSE(sd.count("4.bias"));
  EXPECT_EQ(sd.at("1.num_batches_tracked").dtype(), kInt64);
  EXPECT_EQ(sd.at("1.num_batches_tracked").item<int64_t>(), 1);
  EXPECT_FALSE(values(sd.at("1.running_mean")) == std::vector<double>(4, 0.0));

  model->eval();
  Tensor ye = model->forward(x);
  manual_seed(9);
  auto other = small_cnn();
  other->load_state_dict(sd);
  other->eval();
  expect_close(other->forward(x.cpu()), ye.cpu(), 1e-5, 1e-5);
  // Eval mode leaves the running statistics alone.
  EXPECT_EQ(model->state_dict().at("1.num_batches_tracked").item<int64_t>(), 1);
}

TEST_P(NNConvLayers, BatchNormTrainEvalAndBuffers) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::BatchNorm2d bn(nn::BatchNormOptions(3).momentum(0.5));
  bn->to(dev());
  Tensor x = rnd({4, 3, 2, 2}, dev(), kFloat32, 2);
  Tensor y = bn->forward(x);
  // Training output: zero mean and unit (biased) variance per channel.
  for (double m : values(mean(y, {0, 2, 3}))) EXPECT_NEAR(m, 0, 1e-5);
  EXPECT_EQ(bn->named_buffers().size(), 3u);
  bn->eval();
  Tensor ye = bn->forward(x);
  EXPECT_FALSE(values(ye) == values(y));
  nn::BatchNorm2d no_stats(nn::BatchNormOptions(3).track_running_stats(false).affine(false));
  EXPECT_TRUE(no_stats->named_buffers().empty());
  EXPECT_TRUE(no_stats->parameters().empty());
  no_stats->to(dev());
  no_stats->eval();
  expect_close(no_stats->forward(x), y, 1e-5, 1e-5);  // batch statistics even in eval mode
  EXPECT_THROW_WITH(bn->forward(rnd({4, 2, 2, 2}, dev(), kFloat32)), ShapeError, "expected 3 channels");
  EXPECT_THROW_WITH(bn->forward(rnd({4, 3}, dev(), kFloat32)), ShapeError, "4-D input");
}

TEST_P(NNConvLayers, GradcheckThroughParameters) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(4);
  nn::Conv2d conv(nn::Conv2dOptions(2, 3, {2, 3}).stride({1, 2}).padding(1));
  nn::BatchNorm2d bn(3);
  nn::Conv1d c1(nn::Conv1dOptions(3, 2, 2).dilation(2).padding(1));
  for (nn::Module* m : std::vector<nn::Module*>{conv.get(), bn.get(), c1.get()}) m->to(dev(), kFloat64);
  Tensor x = leaf(rnd({3, 2, 4, 5}, dev(), kFloat64, 5));
  gradcheck_module(*conv, {x}, [&](const std::vector<Tensor>& a) { return conv->forward(a[0]); });
  gradcheck_module(*bn, {leaf(rnd({3, 3, 4, 5}, dev(), kFloat64, 7))},
                   [&](const std::vector<Tensor>& a) { return bn->forward(a[0]); });
  gradcheck_module(*c1, {leaf(rnd({2, 3, 6}, dev(), kFloat64, 6))},
                   [&](const std::vector<Tensor>& a) { return c1->forward(a[0]); });
}

INSTANTIATE_CONV_FAMILY_TESTS(NNConvLayers);
}  // namespace
}  // namespace kiln::test
