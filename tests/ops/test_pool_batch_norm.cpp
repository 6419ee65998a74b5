// Pooling and batch norm: float64 against direct references, float64 finite-difference gradients, running
// statistics, float32 against float64, and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "nn/nn_test_util.h"
#include "ops/conv_test_devices.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

class PoolOps : public DeviceTest {};

// Max over each (k, stride s, padding p) window of one [h, w] plane, padding ignored.
std::vector<double> ref_max(const std::vector<double>& x, int64_t planes, int64_t h, int64_t w, int64_t k, int64_t s,
                            int64_t p, int64_t oh, int64_t ow) {
  std::vector<double> y;
  for (int64_t c = 0; c < planes; ++c)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t a = i * s - p; a < i * s - p + k; ++a)
          for (int64_t b = j * s - p; b < j * s - p + k; ++b)
            if (a >= 0 && a < h && b >= 0 && b < w) m = std::max(m, x[(c * h + a) * w + b]);
        y.push_back(m);
      }
  return y;
}

TEST_P(PoolOps, MaxPoolMatchesReferenceAndGradchecks) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 3, 7, 6}, dev(), kFloat64, 1);
  Tensor y = F::max_pool2d(x, 3, 2, 1);
  ASSERT_EQ(y.sizes(), (Shape{2, 3, 4, 3}));
  expect_values(y, ref_max(values(x), 6, 7, 6, 3, 2, 1, 4, 3), 0);
  EXPECT_EQ(F::max_pool2d(x, 2).sizes(), (Shape{2, 3, 3, 3}));
  EXPECT_EQ(F::max_pool2d(x, 2, 2, 0, 1, /*ceil_mode=*/true).sizes(), (Shape{2, 3, 4, 3}));
  auto [y2, idx] = F::max_pool2d_with_indices(x, 2);
  EXPECT_EQ(idx.dtype(), kInt64);
  // Each index points at its maximum inside the plane.
  std::vector<double> iv = values(idx), yv = values(y2), xv = values(x);
  for (size_t o = 0; o < iv.size(); ++o) EXPECT_EQ(xv[(o / 9) * 42 + static_cast<size_t>(iv[o])], yv[o]) << o;
  Tensor xl = leaf(x);
  expect_gradcheck([](const autograd::TensorList& a) { return F::max_pool2d(a[0], {3, 2}, {2, 1}, {1, 0}, {1, 2}, true); },
                   {xl});
  expect_gradcheck([](const autograd::TensorList& a) { return F::max_pool2d(a[0][0], 2); }, {xl});
}

TEST_P(PoolOps, AvgPoolsMatchReferenceAndGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 2, 5, 4}, dev(), kFloat64, 2);
  std::vector<double> xv = values(x);
  // 2x2 windows, stride 2: the plain mean of four values.
  Tensor y = F::avg_pool2d(x, 2);
  ASSERT_EQ(y.sizes(), (Shape{2, 2, 2, 2}));
  EXPECT_NEAR(values(y)[0], (xv[0] + xv[1] + xv[4] + xv[5]) / 4, 1e-12);
  // Padding: counted in the divisor by default, not with count_include_pad=false.
  Tensor yi = F::avg_pool2d(x, 3, 2, 1), ye = F::avg_pool2d(x, 3, 2, 1, false, false);
  EXPECT_NEAR(values(yi)[0], (xv[0] + xv[1] + xv[4] + xv[5]) / 9, 1e-12);
  EXPECT_NEAR(values(ye)[0], (xv[0] + xv[1] + xv[4] + xv[5]) / 4, 1e-12);
  // Adaptive to 1x1 is the plane's mean; to the input size it is the identity.
  Tensor g = F::adaptive_avg_pool2d(x, 1);
  double mean = 0;
  for (int i = 0; i < 20; ++i) mean += xv[i] / 20;
  EXPECT_NEAR(values(g)[0], mean, 1e-12);
  expect_close(F::adaptive_avg_pool2d(x, {5, 4}), x, 1e-12, 1e-12);
  Tensor xl = leaf(x);
  expect_gradcheck([](const autograd::TensorList& a) { return F::avg_pool2d(a[0], 3, 2, 1, true, false); }, {xl});
  expect_gradcheck([](const autograd::TensorList& a) { return F::avg_pool2d(a[0], {2, 3}, 1); }, {xl});
  expect_gradcheck([](const autograd::TensorList& a) { return F::adaptive_avg_pool2d(a[0], {3, 3}); }, {xl});
}

TEST_P(PoolOps, Float32MatchesFloat64) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({3, 4, 9, 8}, dev(), kFloat64, 3);
  Tensor x32 = x.to(kFloat32);
  expect_close(F::max_pool2d(x32, 3, 2, 1), F::max_pool2d(x, 3, 2, 1), 1e-6, 1e-6);
  expect_close(F::avg_pool2d(x32, 3, 2, 1), F::avg_pool2d(x, 3, 2, 1), 1e-5, 1e-6);
  expect_close(F::adaptive_avg_pool2d(x32, {4, 3}), F::adaptive_avg_pool2d(x, {4, 3}), 1e-5, 1e-6);
}

TEST_P(PoolOps, ErrorsNameTheProblem) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({1, 2, 4, 4}, dev(), kFloat32);
  EXPECT_THROW_WITH(F::max_pool2d(x, 5), ShapeError, "larger than the padded input");
  EXPECT_THROW_WITH(F::max_pool2d(x, 2, 2, 2), ValueError, "half the kernel");
  EXPECT_THROW_WITH(F::avg_pool2d(x, 0), ValueError, "kernel_size must be positive");
  EXPECT_THROW_WITH(F::max_pool2d(x.flatten(), 2), ShapeError, "[N, C, H, W]");
  EXPECT_THROW_WITH(F::adaptive_avg_pool2d(x, 0), ValueError, "output_size");
  EXPECT_THROW_WITH(F::max_pool2d(x.to(kInt64), 2), DTypeError, "float32 or float64");
}

INSTANTIATE_CONV_FAMILY_TESTS(PoolOps);

class BatchNormOp : public DeviceTest {};

TEST_P(BatchNormOp, TrainingNormalisesAndUpdatesRunningStats) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t n = 4, c = 3, s = 5;
  Tensor x = rnd({n, c, s}, dev(), kFloat64, 1);
  Tensor w = rnd({c}, dev(), kFloat64, 2), b = rnd({c}, dev(), kFloat64, 3);
  Tensor rm = zeros({c}, opts(kFloat64)), rv = ones({c}, opts(kFloat64));
  Tensor y = F::batch_norm(x, rm, rv, w, b, true, 0.25, 1e-5);
  std::vector<double> xv = values(x), yv = values(y), wv = values(w), bv = values(b), rmv = values(rm), rvv = values(rv);
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) mean += xv[(i * c + ch) * s + k] / (n * s);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) var += std::pow(xv[(i * c + ch) * s + k] - mean, 2) / (n * s);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) {
        const int64_t o = (i * c + ch) * s + k;
        EXPECT_NEAR(yv[o], (xv[o] - mean) / std::sqrt(var + 1e-5) * wv[ch] + bv[ch], 1e-12);
      }
    EXPECT_NEAR(rmv[ch], 0.25 * mean, 1e-12);
    EXPECT_NEAR(rvv[ch], 0.75 + 0.25 * var * (n * s) / (n * s - 1.0), 1e-12);  // unbiased, as PyTorch
  }
  // Eval uses the running statistics.
  Tensor ye = F::batch_norm(x, rm, rv, w, b, false);
  EXPECT_NEAR(values(ye)[0], (xv[0] - rmv[0]) / std::sqrt(rvv[0] + 1e-5) * wv[0] + bv[0], 1e-12);
}

TEST_P(BatchNormOp, Float64Gradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({4, 3, 2, 3}, dev(), kFloat64, 4));
  Tensor w = leaf(rnd({3}, dev(), kFloat64, 5)), b = leaf(rnd({3}, dev(), kFloat64, 6));
  Tensor rm = rnd({3}, dev(), kFloat64, 7), rv = add(rnd({3}, dev(), kFloat64, 8).abs(), Scalar(0.5));
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    expect_gradcheck([&](const autograd::TensorList& a) {
      return F::batch_norm(a[0], training ? Tensor() : rm, training ? Tensor() : rv, a[1], a[2], training);
    }, {x, w, b});
  }
  expect_gradcheck([](const autograd::TensorList& a) { return F::batch_norm(a[0], Tensor(), Tensor(), {}, {}, true); },
                   {leaf(rnd({5, 2}, dev(), kFloat64, 9))});
}

TEST_P(BatchNormOp, ErrorsNameTheProblem) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 3, 4}, dev(), kFloat32);
  EXPECT_THROW_WITH(F::batch_norm(x, Tensor(), Tensor(), rnd({4}, dev(), kFloat32), Tensor(), true), ShapeError,
                    "weight of shape [3]");
  EXPECT_THROW_WITH(F::batch_norm(x, Tensor(), Tensor()), ValueError, "running statistics");
  EXPECT_THROW_WITH(F::batch_norm(rnd({1, 3}, dev(), kFloat32), Tensor(), Tensor(), {}, {}, true), ShapeError,
                    "more than one value per channel");
}

INSTANTIATE_CONV_FAMILY_TESTS(BatchNormOp);
}  // namespace
}  // namespace kiln::test
