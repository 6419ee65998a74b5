// Channels-last memory format: the format's strides and detection, layout-preserving copies and elementwise
// results, and the CNN ops (conv2d, batch norm, pooling) on NHWC tensors against the same ops on NCHW ones
// (values, gradients, float64 gradcheck; on CUDA against the CPU), then a small CNN trained both ways.
#include <gtest/gtest.h>

#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops.h"
#include "nn/nn_test_util.h"
#include "ops/conv_test_devices.h"
#include "ops/elementwise/iter.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;
constexpr MemoryFormat kCL = MemoryFormat::ChannelsLast;

bool is_channels_last(const Tensor& t) { return t.suggest_memory_format() == kCL; }

// A leaf copy of t in format f that requires grad.
Tensor leaf_in(const Tensor& t, MemoryFormat f) {
  Tensor c = t.detach().contiguous(f);
  if (c.is_same(t)) c = t.detach().clone();
  c.requires_grad_(true);
  return c;
}

TEST(MemoryFormat, StridesAndDetection) {
  EXPECT_EQ(strides_for({2, 3, 4, 5}, kCL), (Shape{60, 1, 15, 3}));
  EXPECT_EQ(strides_for({2, 3, 4, 5}, MemoryFormat::Contiguous), (Shape{60, 20, 5, 1}));
  EXPECT_THROW(strides_for({2, 3, 4}, kCL), ShapeError);
  Tensor x = rnd({2, 3, 4, 5}, Device("cpu"));
  EXPECT_FALSE(x.is_contiguous(kCL));
  EXPECT_EQ(x.suggest_memory_format(), MemoryFormat::Contiguous);
  Tensor y = x.contiguous(kCL);
  EXPECT_EQ(y.strides(), (Shape{60, 1, 15, 3}));
  EXPECT_TRUE(y.is_contiguous(kCL));
  EXPECT_FALSE(y.is_contiguous());
  EXPECT_TRUE(is_channels_last(y));
  EXPECT_TRUE(y.contiguous(kCL).is_same(y));  // already laid out: itself
  expect_close(y, x, 0, 0);
  expect_close(y.contiguous(), x, 0, 0);
  EXPECT_TRUE(y.contiguous().is_contiguous());
  // One channel: both formats fit the bytes; the strides of the size-1 dim tell which one made the tensor.
  Tensor one = rnd({2, 1, 4, 5}, Device("cpu"));
  EXPECT_TRUE(one.is_contiguous(kCL));
  EXPECT_EQ(one.suggest_memory_format(), MemoryFormat::Contiguous);
  Tensor one_cl = one.contiguous(kCL);
  EXPECT_TRUE(is_channels_last(one_cl));
  EXPECT_TRUE(one_cl.is_contiguous());
  // Copies keep the format; contiguous(), 3-D tensors and empty() behave as PyTorch.
  EXPECT_TRUE(is_channels_last(y.clone()));
  EXPECT_TRUE(is_channels_last(y.to(kFloat32)));
  EXPECT_TRUE(is_channels_last(empty({2, 3, 4, 5}, TensorOptions(), kCL)));
  EXPECT_THROW_WITH(rnd({3, 4, 5}, Device("cpu")).contiguous(kCL), ShapeError, "channels_last", "4-D");
  EXPECT_EQ(std::string(memory_format_name(kCL)), "channels_last");
}

class ChannelsLast : public DeviceTest {};

TEST_P(ChannelsLast, CopiesAndGradientThroughTheLayoutChange) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 3, 4, 5}, dev());
  Tensor cl = x.contiguous(kCL);
  EXPECT_TRUE(is_channels_last(cl));
  expect_close(cl.cpu(), x.cpu(), 0, 0);
  EXPECT_TRUE(is_channels_last(cl.cpu()));  // across devices the bytes move as they are
  EXPECT_TRUE(is_channels_last(cl.cpu().to(dev())));
  expect_gradcheck([](const autograd::TensorList& a) { return (a[0].contiguous(kCL) * 2).exp(); }, {leaf(x)});
}

TEST_P(ChannelsLast, ElementwiseResultsFollowTheFirstInput) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({2, 3, 4, 5}, dev(), kFloat32, 1), b = rnd({2, 3, 4, 5}, dev(), kFloat32, 2);
  Tensor acl = a.contiguous(kCL), bcl = b.contiguous(kCL);
  Tensor bias = rnd({1, 3, 1, 1}, dev(), kFloat32, 3);
  struct Case {
    const char* name;
    Tensor got, want;
    bool cl;
  };
  std::vector<Case> cases = {
      {"add", acl + bcl, a + b, true},
      {"mul mixed, CL first", acl * b, a * b, true},
      {"mul mixed, CL second", b * acl, b * a, false},
      {"broadcast bias", acl + bias, a + bias, true},
      {"relu", acl.relu(), a.relu(), true},
      {"exp", acl.exp(), a.exp(), true},
      {"compare", acl > 0, a > 0, true},
      {"where", where(acl > 0, acl, bcl), where(a > 0, a, b), true},
      {"scalar", acl * 3.0, a * 3.0, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_channels_last(c.got), c.cl);
    expect_close(c.got, c.want, 0, 0);
  }
  // Two channels-last operands and a channels-last result are walked as one dense run.
  Tensor out = empty({2, 3, 4, 5}, opts(), kCL);
  EXPECT_TRUE(ops::make_elementwise_iter(out, {acl, bcl}, "test").contiguous);
  // In place on a channels-last tensor.
  Tensor c = acl.clone();
  c.add_(b).relu_();
  EXPECT_TRUE(is_channels_last(c));
  expect_close(c, (a + b).relu(), 0, 0);
}

struct ConvCase {
  const char* name;
  Shape x, w;
  int64_t stride, pad, dil, groups;
};
const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> c = {
      {"plain", {2, 3, 6, 5}, {4, 3, 3, 3}, 1, 1, 1, 1},   {"one input channel", {2, 1, 7, 7}, {5, 1, 3, 3}, 1, 1, 1, 1},
      {"stride", {2, 4, 7, 6}, {3, 4, 3, 2}, 2, 1, 1, 1},  {"dilation", {1, 2, 7, 7}, {3, 2, 3, 3}, 1, 2, 2, 1},
      {"groups", {2, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 2},  {"depthwise", {2, 3, 6, 6}, {3, 1, 3, 3}, 2, 1, 1, 3},
      {"1x1", {3, 5, 4, 3}, {2, 5, 1, 1}, 1, 0, 1, 1},
  };
  return c;
}
Tensor conv(const ConvCase& k, const Tensor& x, const Tensor& w, const Tensor& b) {
  return F::conv2d(x, w, b, k.stride, nn::ConvPadding<2>(k.pad), k.dil, k.groups);
}

// Forward and every gradient of op(inputs) with the channels-last copies of `cl` inputs, against op on the
// contiguous inputs on the CPU in float64.
void expect_same_as_nchw(const std::function<Tensor(const std::vector<Tensor>&)>& op, const std::vector<Tensor>& inputs,
                         const std::vector<bool>& cl, Device dev, DType dt, double tol, bool output_cl) {
  std::vector<Tensor> ref, ours;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ref.push_back(leaf(inputs[i].cpu().to(kFloat64)));
    ours.push_back(leaf_in(inputs[i].to(dev, dt), cl[i] ? kCL : MemoryFormat::Contiguous));
  }
  Tensor want = op(ref), got = op(ours);
  EXPECT_EQ(is_channels_last(got), output_cl);
  expect_close(got.cpu().to(kFloat64), want, tol, tol);
  Tensor gy = rnd(want.sizes(), Device("cpu"), kFloat64, 9);
  want.backward(gy);
  got.backward(gy.to(dev, dt));
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    ASSERT_TRUE(ours[i].grad().defined());
    expect_close(ours[i].grad().cpu().to(kFloat64), ref[i].grad(), tol, tol);
  }
}

TEST_P(ChannelsLast, Conv2dMatchesNchwForEitherOperandInChannelsLast) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const ConvCase& k : conv_cases()) {
    SCOPED_TRACE(k.name);
    Tensor x = rnd(k.x, Device("cpu"), kFloat64, 1), w = rnd(k.w, Device("cpu"), kFloat64, 2);
    Tensor b = rnd({k.w[0]}, Device("cpu"), kFloat64, 3);
    auto op = [&](const std::vector<Tensor>& a) { return conv(k, a[0], a[1], a[2]); };
    for (DType dt : {kFloat32, kFloat64}) {
      const double tol = dt == kFloat32 ? 1e-4 : 1e-10;
      expect_same_as_nchw(op, {x, w, b}, {true, false, false}, dev(), dt, tol, true);
      expect_same_as_nchw(op, {x, w, b}, {false, true, false}, dev(), dt, tol, true);
      expect_same_as_nchw(op, {x, w, b}, {true, true, false}, dev(), dt, tol, true);
    }
  }
}

TEST_P(ChannelsLast, Conv2dWeightGradientKeepsTheWeightsLayout) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 3, 5, 5}, dev(), kFloat32, 1).contiguous(kCL);
  Tensor w = leaf(rnd({4, 3, 3, 3}, dev(), kFloat32, 2).to(kFloat32));  // contiguous weight, channels-last input
  F::conv2d(x, w, Tensor(), 1, nn::ConvPadding<2>(1)).sum().backward();
  EXPECT_TRUE(w.grad().is_contiguous());
  Tensor wcl = leaf_in(w, kCL);
  F::conv2d(x.contiguous(), wcl, Tensor(), 1, nn::ConvPadding<2>(1)).sum().backward();
  EXPECT_TRUE(is_channels_last(wcl.grad()));
  expect_close(wcl.grad(), w.grad(), 1e-5, 1e-5);
}

TEST_P(ChannelsLast, Conv2dFloat64Gradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const ConvCase& k : conv_cases()) {
    SCOPED_TRACE(k.name);
    Tensor x = leaf_in(rnd(k.x, dev(), kFloat64, 1), kCL), w = leaf(rnd(k.w, dev(), kFloat64, 2));
    Tensor b = leaf(rnd({k.w[0]}, dev(), kFloat64, 3));
    expect_gradcheck([&](const autograd::TensorList& a) { return conv(k, a[0], a[1], a[2]); }, {x, w, b});
  }
}

TEST_P(ChannelsLast, BatchNormMatchesNchwInTrainingAndEval) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({3, 4, 5, 6}, Device("cpu"), kFloat64, 1) * 2 + 1;
  Tensor w = rnd({4}, Device("cpu"), kFloat64, 2), b = rnd({4}, Device("cpu"), kFloat64, 3);
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    for (DType dt : {kFloat32, kFloat64}) {
      const double tol = dt == kFloat32 ? 1e-4 : 1e-10;
      Tensor rm_ref = rnd({4}, Device("cpu"), kFloat64, 4), rv_ref = rnd({4}, Device("cpu"), kFloat64, 5).abs() + 0.5;
      Tensor rm = rm_ref.to(dev(), dt), rv = rv_ref.to(dev(), dt);
      auto op = [&](const std::vector<Tensor>& a) {
        const bool on_ref = a[0].is_contiguous();  // the NCHW reference run, with its own running statistics
        Tensor m = on_ref ? rm_ref : rm, v = on_ref ? rv_ref : rv;
        return F::batch_norm(a[0], m, v, a[1], a[2], training, 0.1, 1e-5);
      };
      expect_same_as_nchw(op, {x, w, b}, {true, false, false}, dev(), dt, tol, true);
      if (training) {
        expect_close(rm.cpu().to(kFloat64), rm_ref, tol, tol);
        expect_close(rv.cpu().to(kFloat64), rv_ref, tol, tol);
      }
    }
  }
  Tensor xl = leaf_in(rnd({3, 4, 2, 3}, dev(), kFloat64, 6), kCL);
  Tensor wl = leaf(rnd({4}, dev(), kFloat64, 7)), bl = leaf(rnd({4}, dev(), kFloat64, 8));
  expect_gradcheck([](const autograd::TensorList& a) { return F::batch_norm(a[0], {}, {}, a[1], a[2], true); },
                   {xl, wl, bl});
}

struct PoolCase {
  const char* name;
  Shape x;
  int64_t k, stride, pad, dil;
  bool ceil;
};
TEST_P(ChannelsLast, PoolingMatchesNchw) {
  KILN_SKIP_IF_NO_DEVICE();
  const std::vector<PoolCase> cases = {
      {"2x2 stride 2", {2, 3, 6, 8}, 2, 2, 0, 1, false}, {"3x3 stride 2 pad 1", {2, 5, 7, 6}, 3, 2, 1, 1, false},
      {"3x3 stride 1", {1, 4, 5, 5}, 3, 1, 0, 1, false}, {"ceil mode", {2, 3, 7, 7}, 2, 2, 0, 1, true},
      {"dilation", {1, 3, 8, 8}, 2, 1, 1, 2, false},
  };
  for (const PoolCase& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor x = rnd(c.x, Device("cpu"), kFloat64, 1);
    for (DType dt : {kFloat32, kFloat64}) {
      const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
      expect_same_as_nchw(
          [&](const std::vector<Tensor>& a) { return F::max_pool2d(a[0], c.k, c.stride, c.pad, c.dil, c.ceil); }, {x},
          {true}, dev(), dt, tol, true);
      if (c.dil == 1)
        expect_same_as_nchw(
            [&](const std::vector<Tensor>& a) { return F::avg_pool2d(a[0], c.k, c.stride, c.pad, c.ceil); }, {x},
            {true}, dev(), dt, tol, true);
    }
    // The indices are the NCHW run's (flat in-plane), laid out channels-last like the output.
    auto [y, idx] = F::max_pool2d_with_indices(x.to(dev()).contiguous(kCL), c.k, c.stride, c.pad, c.dil, c.ceil);
    auto [y0, idx0] = F::max_pool2d_with_indices(x, c.k, c.stride, c.pad, c.dil, c.ceil);
    EXPECT_TRUE(is_channels_last(idx));
    EXPECT_EQ(idx.to_vector<int64_t>(), idx0.to_vector<int64_t>());
    Tensor xl = leaf_in(rnd(c.x, dev(), kFloat64, 2), kCL);
    expect_gradcheck([&](const autograd::TensorList& a) { return F::max_pool2d(a[0], c.k, c.stride, c.pad, c.dil, c.ceil); },
                     {xl});
  }
  Tensor x = rnd({2, 3, 7, 5}, Device("cpu"), kFloat64, 3);
  expect_same_as_nchw([](const std::vector<Tensor>& a) { return F::adaptive_avg_pool2d(a[0], {3, 2}); }, {x}, {true},
                      dev(), kFloat64, 1e-12, true);
}

// The CNN of `kiln train --model cnn`, small.
nn::Sequential small_cnn() {
  nn::Sequential m;
  m->push_back(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)));
  m->push_back(nn::BatchNorm2d(4));
  m->push_back(nn::ReLU());
  m->push_back(nn::MaxPool2d(2));
  m->push_back(nn::Conv2d(nn::Conv2dOptions(4, 6, 3).padding(1)));
  m->push_back(nn::BatchNorm2d(6));
  m->push_back(nn::ReLU());
  m->push_back(nn::MaxPool2d(2));
  m->push_back(nn::Flatten());
  m->push_back(nn::Linear(6 * 2 * 2, 3));
  return m;
}

TEST_P(ChannelsLast, ModelTrainsTheSameInEitherFormat) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(3);
  nn::Sequential nchw = small_cnn();
  auto copy = std::dynamic_pointer_cast<nn::SequentialImpl>(nchw->clone());
  ASSERT_NE(copy, nullptr);
  nn::Sequential nhwc(copy);
  nchw->to(dev());
  nhwc->to(dev());
  nhwc->to(kCL);
  for (const auto& [name, p] : nhwc->named_parameters())
    if (p.dim() == 4) EXPECT_TRUE(is_channels_last(p)) << name;
  // SGD, whose update is linear in the gradient: Adam would blow the rounding noise of the conv biases' gradients
  // (zero in exact arithmetic, as BatchNorm follows) up to full steps of either sign.
  optim::SGD opt_a(nchw->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  optim::SGD opt_b(nhwc->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  Tensor x = rnd({8, 1, 8, 8}, dev(), kFloat32, 4);
  Tensor target = randint(0, 3, {8}, TensorOptions(kInt64).device(dev()));
  auto step = [&](nn::Sequential& m, optim::SGD& opt, const Tensor& input) {
    opt.zero_grad();
    F::cross_entropy(m->forward(input), target).backward();
    opt.step();
  };
  for (int i = 0; i < 3; ++i) {
    step(nchw, opt_a, x);
    step(nhwc, opt_b, x.contiguous(kCL));
  }
  auto a = nchw->named_parameters(), b = nhwc->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].first);
    expect_close(b[i].second, a[i].second, 1e-4, 1e-5);
    if (b[i].second.dim() == 4) EXPECT_TRUE(is_channels_last(b[i].second));
  }
  EXPECT_THROW(nhwc->to(MemoryFormat::Preserve), ValueError);
}

INSTANTIATE_CONV_FAMILY_TESTS(ChannelsLast);

}  // namespace
}  // namespace kiln::test
