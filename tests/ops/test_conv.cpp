// conv2d/conv1d: float64 against a direct 7-loop reference, float64 finite-difference gradients, the oneDNN
// float32 kernels against the im2col reference, and argument errors.
#include <gtest/gtest.h>

#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "nn/nn_test_util.h"
#include "ops/conv/conv_kernels.h"
#include "ops/conv_test_devices.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

struct ConvCase {
  const char* name;
  Shape x, w;
  bool bias;
  int64_t sh, sw, ph, pw, dh, dw, groups;
};

const std::vector<ConvCase>& cases() {
  static const std::vector<ConvCase> c = {
      {"plain", {2, 3, 6, 5}, {4, 3, 3, 3}, true, 1, 1, 0, 0, 1, 1, 1},
      {"stride_pad", {2, 3, 7, 6}, {2, 3, 3, 2}, true, 2, 1, 1, 2, 1, 1, 1},
      {"dilation", {1, 2, 7, 7}, {3, 2, 3, 2}, false, 1, 2, 2, 0, 2, 3, 1},
      {"groups", {2, 4, 5, 5}, {6, 2, 3, 3}, true, 1, 1, 1, 1, 1, 1, 2},
      {"depthwise", {2, 3, 6, 6}, {3, 1, 3, 3}, true, 2, 2, 1, 1, 1, 1, 3},
      {"1x1", {3, 5, 4, 3}, {2, 5, 1, 1}, false, 1, 1, 0, 0, 1, 1, 1},
  };
  return c;
}

// y[n][o][i][j] = b[o] + sum over the group's channels and the kernel of x * w, written out directly.
std::vector<double> direct_conv(const ConvCase& k, const std::vector<double>& x, const std::vector<double>& w,
                                const std::vector<double>& b, int64_t oh, int64_t ow) {
  const int64_t N = k.x[0], C = k.x[1], H = k.x[2], W = k.x[3], O = k.w[0], KH = k.w[2], KW = k.w[3];
  const int64_t cg = C / k.groups, og = O / k.groups;
  std::vector<double> y(static_cast<size_t>(N * O * oh * ow));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = b.empty() ? 0.0 : b[o];
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t p = 0; p < KH; ++p)
              for (int64_t q = 0; q < KW; ++q) {
                int64_t y0 = i * k.sh - k.ph + p * k.dh, x0 = j * k.sw - k.pw + q * k.dw;
                if (y0 < 0 || y0 >= H || x0 < 0 || x0 >= W) continue;
                int64_t ci = (o / og) * cg + c;
                s += x[((n * C + ci) * H + y0) * W + x0] * w[((o * cg + c) * KH + p) * KW + q];
              }
          y[((n * O + o) * oh + i) * ow + j] = s;
        }
  return y;
}

Tensor run(const ConvCase& k, const Tensor& x, const Tensor& w, const Tensor& b) {
  return F::conv2d(x, w, b, {k.sh, k.sw}, nn::ConvPadding<2>({k.ph, k.pw}), {k.dh, k.dw}, k.groups);
}

class Conv2dOp : public DeviceTest {};

TEST_P(Conv2dOp, Float64MatchesDirectLoops) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const ConvCase& k : cases()) {
    SCOPED_TRACE(k.name);
    Tensor x = rnd(k.x, dev(), kFloat64, 1), w = rnd(k.w, dev(), kFloat64, 2);
    Tensor b = k.bias ? rnd({k.w[0]}, dev(), kFloat64, 3) : Tensor();
    Tensor y = run(k, x, w, b);
    ASSERT_EQ(y.dim(), 4);
    expect_values(y, direct_conv(k, values(x), values(w), k.bias ? values(b) : std::vector<double>{}, y.size(2),
                                 y.size(3)),
                  1e-12);
  }
}

TEST_P(Conv2dOp, Float64Gradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const ConvCase& k : cases()) {
    SCOPED_TRACE(k.name);
    Tensor x = leaf(rnd(k.x, dev(), kFloat64, 4)), w = leaf(rnd(k.w, dev(), kFloat64, 5));
    if (k.bias) {
      Tensor b = leaf(rnd({k.w[0]}, dev(), kFloat64, 6));
      expect_gradcheck([&](const autograd::TensorList& a) { return run(k, a[0], a[1], a[2]); }, {x, w, b});
    } else {
      expect_gradcheck([&](const autograd::TensorList& a) { return run(k, a[0], a[1], Tensor()); }, {x, w});
    }
  }
}

TEST_P(Conv2dOp, Float32MatchesFloat64) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const ConvCase& k : cases()) {
    SCOPED_TRACE(k.name);
    Tensor x = rnd(k.x, dev(), kFloat64, 7), w = rnd(k.w, dev(), kFloat64, 8), b = rnd({k.w[0]}, dev(), kFloat64, 9);
    Tensor up = rnd(run(k, x, w, b).sizes(), dev(), kFloat64, 10);
    std::vector<Tensor> grads[2];
    Tensor outs[2];
    for (int f = 0; f < 2; ++f) {
      DType dt = f ? kFloat32 : kFloat64;
      Tensor xs = leaf(x.to(dt)), ws = leaf(w.to(dt)), bs = leaf(b.to(dt));
      outs[f] = run(k, xs, ws, bs);
      grads[f] = autograd::grad({outs[f]}, {xs, ws, bs}, {up.to(dt)});
    }
    expect_close(outs[1], outs[0], 1e-4, 1e-4);
    for (int i = 0; i < 3; ++i) expect_close(grads[1][i], grads[0][i], 1e-4, 1e-4);
  }
}

TEST_P(Conv2dOp, SamePaddingKeepsTheSize) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({1, 2, 5, 6}, dev(), kFloat64, 1);
  for (Shape ks : {Shape{3, 3}, Shape{2, 4}, Shape{1, 5}}) {
    Tensor w = rnd({3, 2, ks[0], ks[1]}, dev(), kFloat64, 2);
    Tensor y = F::conv2d(x, w, Tensor(), 1, "same");
    EXPECT_EQ(y.sizes(), (Shape{1, 3, 5, 6}));
    // An even kernel pads one more at the end: the same as explicit (total/2) padding on a right-extended input.
    ConvCase k{"same", {1, 2, 5, 6}, {3, 2, ks[0], ks[1]}, false, 1, 1, (ks[0] - 1) / 2, (ks[1] - 1) / 2, 1, 1, 1};
    std::vector<double> ref = direct_conv(k, values(x), values(w), {}, 5, 6);
    expect_values(y, ref, 1e-12);
  }
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 2, 3, 3}, dev(), kFloat64), Tensor(), 2, "same"), ValueError, "stride 1");
}

TEST_P(Conv2dOp, UnbatchedInputAndConv1d) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 4, 9}, dev(), kFloat64, 1), w = rnd({6, 2, 3}, dev(), kFloat64, 2), b = rnd({6}, dev());
  Tensor y = F::conv1d(x, w, b, 2, 1, 1, 2);
  Tensor y2 = F::conv2d(x.unsqueeze(2), w.unsqueeze(2), b, {1, 2}, nn::ConvPadding<2>({0, 1}), 1, 2).squeeze(2);
  expect_close(y, y2, 1e-12, 1e-12);
  expect_close(F::conv1d(x[0], w, b, 2, 1, 1, 2), y[0], 1e-12, 1e-12);
  Tensor xl = leaf(x), wl = leaf(w);
  expect_gradcheck([](const autograd::TensorList& a) { return F::conv1d(a[0], a[1], Tensor(), 1, "same", 2, 2); },
                   {xl, wl});
}

TEST_P(Conv2dOp, ErrorsNameTheProblem) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 4, 5, 5}, dev(), kFloat32);
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 3, 3, 3}, dev(), kFloat32)), ShapeError, "input channels", "has 4");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 2, 7, 3}, dev(), kFloat32), Tensor(), 1, 0, 1, 2), ShapeError,
                    "groups=2 must divide", "output channels (3)");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 4, 7, 3}, dev(), kFloat32)), ShapeError, "larger than the padded input");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 4, 6, 3}, dev(), kFloat32), Tensor(), 1, 1, 2), ShapeError,
                    "with dilation");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 4, 3, 3}, dev(), kFloat32), rnd({4}, dev(), kFloat32)), ShapeError,
                    "bias [3]");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 4, 3, 3}, dev(), kFloat64)), DTypeError, "share one floating dtype");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 4, 3, 3}, dev(), kFloat32), Tensor(), 0), ValueError, "stride");
  EXPECT_THROW_WITH(F::conv2d(x.flatten(), rnd({3, 4, 3, 3}, dev(), kFloat32)), ShapeError, "[N, C, H, W]");
  EXPECT_THROW_WITH(F::conv2d(x, rnd({3, 4, 3, 3}, dev(), kFloat32), Tensor(), 1, "full"), ValueError, "\"same\"");
}

INSTANTIATE_CONV_FAMILY_TESTS(Conv2dOp);

#if KILN_WITH_ONEDNN
// The oneDNN float32 kernels against the im2col reference on the same float32 inputs, direction by direction, on
// NCHW memory and on channels-last memory (NHWC data, OHWI weights reordered to oneDNN's blocked layout).
TEST(Conv2dOneDNN, KernelsMatchTheReference) {
  for (const ConvCase& k : cases()) {
    SCOPED_TRACE(k.name);
    Tensor x = rnd(k.x, Device("cpu"), kFloat32, 1), w = rnd(k.w, Device("cpu"), kFloat32, 2);
    Tensor b = rnd({k.w[0]}, Device("cpu"), kFloat32, 3);
    Tensor y = run(k, x, w, b);
    ops::Conv2dGeometry g;
    g.n = k.x[0], g.c_in = k.x[1], g.h = k.x[2], g.w = k.x[3], g.c_out = k.w[0], g.kh = k.w[2], g.kw = k.w[3];
    g.oh = y.size(2), g.ow = y.size(3), g.stride_h = k.sh, g.stride_w = k.sw, g.dil_h = k.dh, g.dil_w = k.dw;
    g.pad_top = g.pad_bottom = k.ph, g.pad_left = g.pad_right = k.pw, g.groups = k.groups;
    Tensor gy = rnd(y.sizes(), Device("cpu"), kFloat32, 4);
    Tensor y1 = empty_like(y), y2 = empty_like(y);
    ops::cpu_conv::onednn_forward(g, x, w, b, y1);
    ops::cpu_conv::reference_forward(g, x, w, b, y2);
    expect_close(y1, y2, 1e-4, 1e-4);
    Tensor gx1 = empty_like(x), gx2 = empty_like(x);
    ops::cpu_conv::onednn_backward_data(g, gy, w, gx1);
    ops::cpu_conv::reference_backward_data(g, gy, w, gx2);
    expect_close(gx1, gx2, 1e-4, 1e-4);
    Tensor gw1 = empty_like(w), gw2 = empty_like(w), gb1 = empty_like(b), gb2 = empty_like(b);
    ops::cpu_conv::onednn_backward_weight(g, gy, x, gw1, gb1);
    ops::cpu_conv::reference_backward_weight(g, gy, x, gw2, gb2);
    expect_close(gw1, gw2, 1e-4, 1e-4);
    expect_close(gb1, gb2, 1e-4, 1e-4);

    const MemoryFormat cl = MemoryFormat::ChannelsLast;
    ops::Conv2dGeometry gl = g;
    gl.channels_last = true;
    Tensor xl = x.contiguous(cl), wl = w.contiguous(cl), gyl = gy.contiguous(cl);
    Tensor y3 = empty(y.sizes(), TensorOptions(), cl), gx3 = empty(x.sizes(), TensorOptions(), cl);
    Tensor gw3 = empty(w.sizes(), TensorOptions(), cl), gb3 = empty_like(b);
    ops::cpu_conv::onednn_forward(gl, xl, wl, b, y3);
    ops::cpu_conv::onednn_backward_data(gl, gyl, wl, gx3);
    ops::cpu_conv::onednn_backward_weight(gl, gyl, xl, gw3, gb3);
    expect_close(y3, y2, 1e-4, 1e-4);
    expect_close(gx3, gx2, 1e-4, 1e-4);
    expect_close(gw3, gw2, 1e-4, 1e-4);
    expect_close(gb3, gb2, 1e-4, 1e-4);
  }
}
#endif
}  // namespace
}  // namespace kiln::test
