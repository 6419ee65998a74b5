// LayerNorm and Dropout: forward against host references, gradients, modes and argument errors.
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/init.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/dropout.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

class NNNormDropout : public DeviceTest {};

// Normalises each row of `rows` x `cols` values, then applies w and b (per column) when given.
std::vector<double> ref_layer_norm(const std::vector<double>& x, int64_t rows, int64_t cols,
                                   const std::vector<double>& w, const std::vector<double>& b, double eps) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    var /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) {
      double v = (x[r * cols + c] - mean) / std::sqrt(var + eps);
      y[r * cols + c] = w.empty() ? v : v * w[c] + b[c];
    }
  }
  return y;
}

TEST_P(NNNormDropout, LayerNormForwardMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(1);
  nn::LayerNorm ln(Shape{4, 5});
  EXPECT_EQ(values(ln->weight), std::vector<double>(20, 1.0));
  EXPECT_EQ(values(ln->bias), std::vector<double>(20, 0.0));
  nn::init::normal_(ln->weight);
  nn::init::normal_(ln->bias);
  ln->to(dev());
  Tensor x = rnd({3, 4, 5}, dev(), kFloat32, 2);
  Tensor y = ln->forward(x);
  ASSERT_EQ(y.sizes(), x.sizes());
  expect_values(y, ref_layer_norm(values(x), 3, 20, values(ln->weight), values(ln->bias), 1e-5), 1e-4);
  // Without affine parameters, and with a large eps.
  nn::LayerNorm plain(5, 0.5, /*elementwise_affine=*/false);
  EXPECT_TRUE(plain->parameters().empty());
  expect_values(plain->forward(x), ref_layer_norm(values(x), 12, 5, {}, {}, 0.5), 1e-5);
}

TEST_P(NNNormDropout, LayerNormNonContiguousAndHalf) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::LayerNorm ln(6);
  ln->to(dev());
  Tensor base = rnd({6, 4}, dev(), kFloat32, 3);
  Tensor x = base.t();  // [4, 6], non-contiguous
  auto expected = ref_layer_norm(values(x.contiguous()), 4, 6, {}, {}, 1e-5);
  expect_values(ln->forward(x), expected, 1e-4);
  for (DType dt : {kFloat16, kBFloat16}) {
    nn::LayerNorm low(6);
    low->to(dev(), dt);
    Tensor y = low->forward(x.to(dt));
    EXPECT_EQ(y.dtype(), dt);
    expect_values(y, expected, 3e-2);
  }
}

TEST_P(NNNormDropout, LayerNormGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::LayerNorm ln(Shape{3, 4});
  nn::init::normal_(ln->weight);
  nn::init::normal_(ln->bias);
  ln->to(dev(), kFloat64);
  Tensor x = leaf(rnd({2, 3, 4}, dev()));
  gradcheck_module(*ln, {x}, [&](const std::vector<Tensor>& in) { return ln->forward(in[0]); });
}

TEST_P(NNNormDropout, LayerNormShapeError) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::LayerNorm ln(Shape{4, 5});
  ln->to(dev());
  EXPECT_THROW_WITH(ln->forward(zeros({3, 5, 4}, opts())), ShapeError, "[3, 5, 4]", "[4, 5]");
  EXPECT_THROW_WITH(F::layer_norm(zeros({3, 4}, opts(kInt64)), {4}), DTypeError, "int64");
}

TEST_P(NNNormDropout, DropoutTrainingZeroesAndScales) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(7);
  const double p = 0.3;
  nn::Dropout drop(p);
  EXPECT_TRUE(drop->is_training());
  Tensor x = leaf(ones({100, 100}, opts(kFloat64)));
  Tensor y = drop->forward(x);
  auto v = values(y);
  int64_t zeros_count = 0;
  for (double e : v) {
    if (e == 0.0) {
      ++zeros_count;
    } else {
      EXPECT_NEAR(e, 1.0 / (1.0 - p), 1e-12);
    }
  }
  double frac = static_cast<double>(zeros_count) / static_cast<double>(v.size());
  EXPECT_NEAR(frac, p, 0.03);
  // The gradient is the same scaled mask.
  sum(y).backward();
  expect_close(x.grad(), y);
  // Same seed, same mask.
  manual_seed(7);
  Tensor y2 = drop->forward(x.detach());
  expect_close(y2, y.detach());
}

TEST_P(NNNormDropout, DropoutEvalIsIdentityAndTrainEvalPropagates) {
  KILN_SKIP_IF_NO_DEVICE();
  auto model = nn::Sequential(nn::Linear(4, 4), nn::Dropout(0.9), nn::ReLU());
  model->to(dev());
  auto drop = model->ptr<nn::DropoutImpl>(1);
  model->eval();
  EXPECT_FALSE(drop->is_training());
  Tensor x = rnd({3, 4}, dev(), kFloat32);
  EXPECT_TRUE(drop->forward(x).is_same(x));
  expect_close(model->forward(x), model->forward(x));  // deterministic in eval
  model->train();
  EXPECT_TRUE(drop->is_training());
  Tensor big = ones({1000}, opts());
  EXPECT_LT(sum(ne(drop->forward(big), 0.0)).item<double>(), 300.0);  // ~100 of 1000 kept
}

TEST_P(NNNormDropout, DropoutEdgeProbabilitiesAndGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({4, 5}, dev()));
  EXPECT_TRUE(F::dropout(x, 0.0, true).is_same(x));
  Tensor all_dropped = F::dropout(x, 1.0, true);
  expect_values(all_dropped, std::vector<double>(20, 0.0), 0);
  EXPECT_TRUE(all_dropped.requires_grad());
  // A fixed generator gives the same mask on every evaluation, so finite differences see a linear map.
  expect_gradcheck(
      [&](const autograd::TensorList& a) {
        Generator gen(42);
        return F::dropout(a[0], 0.4, true, &gen);
      },
      {x});
  EXPECT_EQ(F::dropout(zeros({0, 3}, opts()), 0.5, true).numel(), 0);
}

TEST_P(NNNormDropout, DropoutRejectsBadProbability) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_THROW_WITH(nn::Dropout(1.5), ValueError, "between 0 and 1", "1.5");
  EXPECT_THROW_WITH(nn::Dropout(-0.1), ValueError, "between 0 and 1");
  EXPECT_THROW_WITH(F::dropout(ones({2}, opts()), 2.0, false), ValueError, "between 0 and 1");
}

INSTANTIATE_DEVICE_TESTS(NNNormDropout);
}  // namespace
}  // namespace kiln::test
