// ConvTranspose2d, GroupNorm, Dropout2d, Upsample and ResidualBlock: float64 gradcheck of the functions and
// through the layers' parameters, conv_transpose2d as conv2d's adjoint, dropout2d's channel masks, printing
// and initialisation as PyTorch, and the errors a user gets for bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/nn/functional/upsample.h"
#include "kiln/nn/layers/conv_transpose.h"
#include "kiln/nn/layers/dropout.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/layers/residual.h"
#include "kiln/nn/layers/upsample.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "nn/nn_test_util.h"
#include "ops/conv_test_devices.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

std::string printed(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

TEST(NNCnnLayers, PrintsLikePyTorch) {
  EXPECT_EQ(printed(*nn::ConvTranspose2d(nn::ConvTranspose2dOptions(16, 8, 3).stride(2).padding(1).output_padding(1))),
            "ConvTranspose2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))");
  EXPECT_EQ(printed(*nn::ConvTranspose2d(nn::ConvTranspose2dOptions(4, 6, {2, 3}).groups(2).dilation(2).bias(false))),
            "ConvTranspose2d(4, 6, kernel_size=(2, 3), stride=(1, 1), dilation=(2, 2), groups=2, bias=False)");
  EXPECT_EQ(printed(*nn::GroupNorm(4, 32)), "GroupNorm(4, 32, eps=1e-05, affine=True)");
  EXPECT_EQ(printed(*nn::GroupNorm(nn::GroupNormOptions(2, 6).eps(1e-3).affine(false))),
            "GroupNorm(2, 6, eps=0.001, affine=False)");
  EXPECT_EQ(printed(*nn::Dropout2d(0.2)), "Dropout2d(p=0.2, inplace=False)");
  EXPECT_EQ(printed(*nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2}))),
            "Upsample(scale_factor=2.0, mode='nearest')");
  EXPECT_EQ(printed(*nn::Upsample(nn::UpsampleOptions().size(std::vector<int64_t>{14, 12}).mode(nn::kBilinear))),
            "Upsample(size=(14, 12), mode='bilinear')");
  EXPECT_EQ(printed(*nn::ResidualBlock(4, 8, 2)),
            "ResidualBlock(\n"
            "  (conv1): Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
            "  (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
            "  (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (downsample): Sequential(\n"
            "    (0): Conv2d(4, 8, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
            "    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  )\n"
            ")");
}

TEST(NNCnnLayers, InitialisesAsPyTorchAndChecksSettings) {
  manual_seed(5);
  nn::ConvTranspose2d convt(nn::ConvTranspose2dOptions(6, 4, 3).groups(2));
  EXPECT_EQ(convt->weight.sizes(), (Shape{6, 2, 3, 3}));  // [in, out / groups, kH, kW]
  EXPECT_EQ(convt->bias.sizes(), (Shape{4}));
  const double bound = 1.0 / std::sqrt(2.0 * 9.0);  // fan_in = out / groups * kH * kW, as torch
  double largest = 0;
  for (double v : values(convt->weight)) largest = std::max(largest, std::fabs(v));
  EXPECT_LE(largest, bound);
  EXPECT_GT(largest, 0.8 * bound);
  for (double v : values(convt->bias)) EXPECT_LE(std::fabs(v), bound);
  nn::GroupNorm gn(2, 6);
  EXPECT_EQ(values(gn->weight), std::vector<double>(6, 1.0));
  EXPECT_EQ(values(gn->bias), std::vector<double>(6, 0.0));
  EXPECT_TRUE(nn::GroupNorm(nn::GroupNormOptions(2, 6).affine(false))->parameters().empty());
  EXPECT_THROW_WITH(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(6, 4, 3).groups(4)), ValueError, "groups=4");
  EXPECT_THROW_WITH(nn::GroupNorm(4, 6), ValueError, "divisible by num_groups");
  EXPECT_THROW_WITH(nn::Dropout2d(1.5), ValueError, "between 0 and 1");
  EXPECT_THROW_WITH(nn::Upsample(nn::UpsampleOptions()), ValueError, "exactly one of size and scale_factor");
  EXPECT_THROW_WITH(nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2}).align_corners(true)),
                    ValueError, "align_corners");
  EXPECT_THROW_WITH(nn::ResidualBlock(4, 8, 0), ValueError, "stride must be positive");
}

class NNCnnLayersDevices : public DeviceTest {};

TEST_P(NNCnnLayersDevices, GroupNormGradcheckAndStatistics) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({2, 6, 3, 2}, dev(), kFloat64, 3)), w = leaf(rnd({6}, dev(), kFloat64, 4));
  Tensor b = leaf(rnd({6}, dev(), kFloat64, 5));
  expect_gradcheck([](const autograd::TensorList& a) { return F::group_norm(a[0], 3, a[1], a[2]); }, {x, w, b});
  expect_gradcheck([](const autograd::TensorList& a) { return F::group_norm(a[0], 2); }, {leaf(rnd({3, 4, 5}, dev()))});
  // Each (sample, group) is normalised on its own: zero mean over the group's channels and pixels.
  Tensor y = F::group_norm(rnd({2, 6, 3, 2}, dev(), kFloat32), 3).reshape({2, 3, 12});
  for (double m : values(mean(y, {2}))) EXPECT_NEAR(m, 0, 1e-5);
  EXPECT_THROW_WITH(F::group_norm(x, 4), ShapeError, "num_groups=4 must divide the channels (6)");
  EXPECT_THROW_WITH(F::group_norm(x, 3, rnd({5}, dev())), ShapeError, "expected weight [6]");
  EXPECT_THROW_WITH(F::group_norm(rnd({6}, dev()), 3), ShapeError, "expected input [N, C, ...]");
  EXPECT_THROW_WITH(nn::GroupNorm(3, 6)->forward(rnd({2, 4, 3}, dev(), kFloat32)), ShapeError, "expected 6 channels");
}

TEST_P(NNCnnLayersDevices, InterpolateGradcheckAndErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({2, 2, 3, 4}, dev(), kFloat64, 6));
  for (bool align : {false, true}) {
    auto o = F::InterpolateFuncOptions().mode(nn::kBilinear).align_corners(align).size(std::vector<int64_t>{5, 3});
    expect_gradcheck([o](const autograd::TensorList& a) { return F::interpolate(a[0], o); }, {x});
  }
  auto nearest = F::InterpolateFuncOptions().scale_factor(std::vector<double>{1.5, 2});
  expect_gradcheck([nearest](const autograd::TensorList& a) { return F::interpolate(a[0], nearest); }, {x});
  EXPECT_EQ(F::interpolate(x, nearest).sizes(), (Shape{2, 2, 4, 8}));
  // Nearest doubling repeats each pixel in a 2x2 block.
  Tensor up = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2}));
  EXPECT_EQ(values(up.narrow(2, 1, 1).narrow(3, 1, 1)), values(x.narrow(2, 0, 1).narrow(3, 0, 1)));
  EXPECT_THROW_WITH(F::interpolate(rnd({2, 3, 4}, dev()), nearest), ShapeError, "4-D input");
  EXPECT_THROW_WITH(F::interpolate(x, F::InterpolateFuncOptions()), ValueError, "exactly one of size and scale_factor");
  EXPECT_THROW_WITH(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{0.1})), ValueError,
                    "greater than 0");
  EXPECT_THROW_WITH(F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{1, 2, 3})), ValueError,
                    "one value or two");
}

TEST_P(NNCnnLayersDevices, Dropout2dZeroesWholeChannels) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = add(rnd({8, 16, 3, 3}, dev(), kFloat32).abs(), 1.0);  // no zero inputs
  Generator gen(7);
  Tensor y = F::dropout2d(x, 0.25, true, &gen);
  std::vector<double> xv = values(x), yv = values(y);
  int dropped = 0;
  for (int64_t plane = 0; plane < 8 * 16; ++plane) {
    const bool zero = yv[static_cast<size_t>(plane * 9)] == 0.0;
    dropped += zero;
    for (int64_t i = 0; i < 9; ++i) {
      const size_t k = static_cast<size_t>(plane * 9 + i);
      if (zero) EXPECT_EQ(yv[k], 0.0);
      else EXPECT_NEAR(yv[k], xv[k] / 0.75, 1e-5);
    }
  }
  EXPECT_GT(dropped, 128 * 0.1);  // 32 expected of 128 channels
  EXPECT_LT(dropped, 128 * 0.45);
  // Eval and p = 0 return the input; p = 1 zeroes everything; [C, H, W] draws one mask per channel.
  EXPECT_TRUE(F::dropout2d(x, 0.5, false).is_same(x));
  nn::Dropout2d layer(0.5);
  layer->eval();
  EXPECT_TRUE(layer->forward(x).is_same(x));
  EXPECT_EQ(values(sum(F::dropout2d(x, 1.0))), std::vector<double>{0.0});
  EXPECT_EQ(F::dropout2d(rnd({4, 2, 2}, dev(), kFloat32), 0.5).sizes(), (Shape{4, 2, 2}));
  // The gradient is the same mask: gradcheck with a generator re-seeded for every evaluation.
  expect_gradcheck([](const autograd::TensorList& a) {
    Generator g(11);
    return F::dropout2d(a[0], 0.4, true, &g);
  }, {leaf(rnd({2, 5, 2, 3}, dev(), kFloat64))});
  EXPECT_THROW_WITH(F::dropout2d(rnd({4, 5}, dev()), 0.5), ShapeError, "[N, C, H, W] or [C, H, W]");
  EXPECT_THROW_WITH(F::dropout2d(x, -0.1), ValueError, "between 0 and 1");
}

INSTANTIATE_DEVICE_TESTS(NNCnnLayersDevices);

// On the conv2d stubs: the devices the conv family has kernels for.
class NNConvTranspose : public DeviceTest {};

// <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>: the transposed convolution is conv2d's adjoint, checked
// against conv2d's own (independently tested) forward for float64 and float32.
TEST_P(NNConvTranspose, IsTheAdjointOfConv2d) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat64, kFloat32}) {
    Tensor x = rnd({2, 4, 9, 8}, dev(), dt, 1), w = rnd({6, 2, 3, 2}, dev(), dt, 2);
    Tensor cx = F::conv2d(x, w, Tensor(), {2, 3}, {1, 0}, {1, 2}, 2);
    Tensor y = rnd(cx.sizes(), dev(), dt, 3);
    // The output size of conv2d drops rows the stride skips; output_padding gives them back.
    const int64_t op_h = 9 - ((cx.size(2) - 1) * 2 - 2 + 1 * 2 + 1), op_w = 8 - ((cx.size(3) - 1) * 3 + 2 * 1 + 1);
    Tensor ty = F::conv_transpose2d(y, w, Tensor(), {2, 3}, {1, 0}, {op_h, op_w}, 2, {1, 2});
    ASSERT_EQ(ty.sizes(), x.sizes());
    const double lhs = values(sum(mul(cx, y)))[0], rhs = values(sum(mul(x, ty)))[0];
    EXPECT_NEAR(lhs, rhs, (dt == kFloat64 ? 1e-9 : 1e-3) * std::max(1.0, std::fabs(lhs)));
  }
}

TEST_P(NNConvTranspose, GradcheckAndErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({2, 4, 3, 3}, dev(), kFloat64, 4)), w = leaf(rnd({4, 3, 2, 3}, dev(), kFloat64, 5));
  Tensor b = leaf(rnd({3}, dev(), kFloat64, 6));
  expect_gradcheck([](const autograd::TensorList& a) {
    return F::conv_transpose2d(a[0], a[1], a[2], 2, {1, 0}, 1);  // output_padding 1 > padding 0 in width
  }, {x, w, b});
  Tensor wg = leaf(rnd({4, 1, 3, 3}, dev(), kFloat64, 7));
  expect_gradcheck([](const autograd::TensorList& a) {
    return F::conv_transpose2d(a[0], a[1], Tensor(), 1, 1, 0, 2, 2);
  }, {x, wg});
  manual_seed(3);
  nn::ConvTranspose2d layer(nn::ConvTranspose2dOptions(4, 2, 3).stride(2).padding(1).output_padding(1));
  layer->to(dev(), kFloat64);
  EXPECT_EQ(layer->forward(x).sizes(), (Shape{2, 2, 6, 6}));  // 3 -> 6: the decoder's doubling
  EXPECT_EQ(layer->forward(rnd({4, 3, 3}, dev())).sizes(), (Shape{2, 6, 6}));
  gradcheck_module(*layer, {x}, [&](const std::vector<Tensor>& a) { return layer->forward(a[0]); });
  EXPECT_THROW_WITH(F::conv_transpose2d(x, rnd({3, 3, 2, 2}, dev())), ShapeError, "expects 3 input channels");
  EXPECT_THROW_WITH(F::conv_transpose2d(x, w, Tensor(), 1, 0, 1), ValueError, "output_padding (1, 1)");
  EXPECT_THROW_WITH(F::conv_transpose2d(x, w, rnd({4}, dev())), ShapeError, "expected bias [3]");
  EXPECT_THROW_WITH(F::conv_transpose2d(x, w, Tensor(), 1, 5), ShapeError, "use less padding");
  EXPECT_THROW_WITH(F::conv_transpose2d(x, w.to(kFloat32)), DTypeError, "one floating dtype");
}

TEST_P(NNConvTranspose, ResidualBlockShapesStateAndGradients) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(2);
  nn::ResidualBlock same(3, 3), down(3, 5, 2);
  EXPECT_FALSE(same->downsample);
  for (const char* key : {"conv1.weight", "bn1.running_mean", "conv2.weight", "bn2.num_batches_tracked",
                          "downsample.0.weight", "downsample.1.running_var"})
    EXPECT_TRUE(down->state_dict().count(key)) << key;
  EXPECT_FALSE(down->state_dict().count("conv1.bias"));
  same->to(dev(), kFloat64);
  down->to(dev(), kFloat64);
  Tensor x = leaf(rnd({2, 3, 5, 4}, dev(), kFloat64, 8));
  EXPECT_EQ(same->forward(x).sizes(), (Shape{2, 3, 5, 4}));
  EXPECT_EQ(down->forward(x).sizes(), (Shape{2, 5, 3, 2}));  // ceil(5 / 2), ceil(4 / 2)
  // In eval mode the BatchNorms are affine maps of fixed statistics; ReLU kinks aside, the block is smooth.
  down->eval();
  gradcheck_module(*down, {x}, [&](const std::vector<Tensor>& a) { return down->forward(a[0]); });
  EXPECT_THROW_WITH(down->forward(rnd({2, 4, 5, 4}, dev())), ShapeError, "input channels");
}

TEST_P(NNConvTranspose, SummaryTracesOutputShapes) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)), nn::ResidualBlock(4, 8, 2),
                     nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2})), nn::GroupNorm(2, 8),
                     nn::Flatten());
  net->to(dev());
  net[1]->as<nn::ResidualBlock>()->bn1->eval();  // a mixed mode must come back as it was
  const StateDict before = net->state_dict();
  const std::vector<double> running = values(before.at("1.bn1.running_mean"));
  nn::ModuleSummary s = nn::summary(net, {2, 1, 6, 6});
  std::map<std::string, Shape> shapes;
  for (const auto& r : s.rows) shapes[r.name] = r.output_shapes.empty() ? Shape{} : r.output_shapes[0];
  EXPECT_EQ(shapes[""], (Shape{2, 8 * 36}));
  EXPECT_EQ(shapes["0"], (Shape{2, 4, 6, 6}));
  EXPECT_EQ(shapes["1"], (Shape{2, 8, 3, 3}));
  EXPECT_EQ(shapes["1.conv1"], (Shape{2, 8, 3, 3}));
  EXPECT_EQ(shapes["1.downsample"], (Shape{2, 8, 3, 3}));
  EXPECT_EQ(shapes["1.downsample.0"], (Shape{2, 8, 3, 3}));
  EXPECT_EQ(shapes["2"], (Shape{2, 8, 6, 6}));
  const std::string text = s.str();
  EXPECT_NE(text.find("Output Shape"), std::string::npos) << text;
  EXPECT_NE(text.find("Input shape: [2, 1, 6, 6]"), std::string::npos) << text;
  EXPECT_NE(text.find("[2, 8, 6, 6]"), std::string::npos) << text;
  EXPECT_TRUE(net->is_training());
  EXPECT_FALSE(net[1]->as<nn::ResidualBlock>()->bn1->is_training());
  EXPECT_TRUE(net[1]->as<nn::ResidualBlock>()->bn2->is_training());
  EXPECT_EQ(values(net->state_dict().at("1.bn1.running_mean")), running);
  EXPECT_EQ(net->state_dict().at("1.bn2.num_batches_tracked").item<int64_t>(), 0);
  // Without an input shape: parameters only, no shape column.
  EXPECT_EQ(nn::summary(*net).str().find("Output Shape"), std::string::npos);
  EXPECT_THROW_WITH(nn::summary(net, {2, 3, 6, 6}), ShapeError, "input");
  EXPECT_TRUE(net->is_training()) << "modes are restored when the traced forward throws";
}

INSTANTIATE_CONV_FAMILY_TESTS(NNConvTranspose);
}  // namespace
}  // namespace kiln::test
