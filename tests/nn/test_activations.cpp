// Activation layers: forward against float64 host formulas and gradcheck, on every device.
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

class NNActivations : public DeviceTest {};

struct Case {
  const char* name;
  std::function<Tensor(const Tensor&)> layer;
  std::function<double(double)> ref;
};

std::vector<Case> elementwise_cases() {
  const double k = std::sqrt(2.0 / M_PI);
  return {
      {"ReLU", [](const Tensor& x) { return nn::ReLU()->forward(x); }, [](double v) { return v > 0 ? v : 0.0; }},
      {"LeakyReLU", [](const Tensor& x) { return nn::LeakyReLU(0.2)->forward(x); },
       [](double v) { return v > 0 ? v : 0.2 * v; }},
      {"GELU", [](const Tensor& x) { return nn::GELU()->forward(x); },
       [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }},
      {"GELU(tanh)", [](const Tensor& x) { return nn::GELU("tanh")->forward(x); },
       [k](double v) { return 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))); }},
      {"SiLU", [](const Tensor& x) { return nn::SiLU()->forward(x); }, [](double v) { return v / (1.0 + std::exp(-v)); }},
      {"Tanh", [](const Tensor& x) { return nn::Tanh()->forward(x); }, [](double v) { return std::tanh(v); }},
      {"Sigmoid", [](const Tensor& x) { return nn::Sigmoid()->forward(x); },
       [](double v) { return 1.0 / (1.0 + std::exp(-v)); }},
  };
}

TEST_P(NNActivations, ElementwiseForwardMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = mul(rnd({6, 7}, dev(), kFloat32, 3), 3.0);
  auto xv = values(x);
  for (const auto& c : elementwise_cases()) {
    SCOPED_TRACE(c.name);
    Tensor y = c.layer(x);
    ASSERT_EQ(y.sizes(), x.sizes());
    EXPECT_EQ(y.dtype(), kFloat32);
    std::vector<double> expected;
    for (double v : xv) expected.push_back(c.ref(v));
    expect_values(y, expected, 1e-5);
  }
}

TEST_P(NNActivations, ElementwiseGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({3, 4}, dev(), kFloat64, 4));
  for (const auto& c : elementwise_cases()) {
    SCOPED_TRACE(c.name);
    expect_gradcheck([&](const autograd::TensorList& a) { return c.layer(a[0]); }, {x});
  }
}

// Softmax along `dim` of a [rows, cols] matrix (dim 1) or along its columns (dim 0).
std::vector<double> ref_softmax(const std::vector<double>& x, int64_t rows, int64_t cols, int64_t dim, bool log) {
  std::vector<double> y(x.size());
  int64_t outer = dim == 1 ? rows : cols, inner = dim == 1 ? cols : rows;
  for (int64_t o = 0; o < outer; ++o) {
    auto at = [&](int64_t i) { return dim == 1 ? o * cols + i : i * cols + o; };
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < inner; ++i) m = std::max(m, x[at(i)]);
    for (int64_t i = 0; i < inner; ++i) s += std::exp(x[at(i)] - m);
    for (int64_t i = 0; i < inner; ++i) y[at(i)] = log ? x[at(i)] - m - std::log(s) : std::exp(x[at(i)] - m) / s;
  }
  return y;
}

TEST_P(NNActivations, SoftmaxAndLogSoftmax) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = mul(rnd({4, 5}, dev(), kFloat32, 5), 4.0);
  for (int64_t dim : {0, 1}) {
    SCOPED_TRACE(dim);
    expect_values(nn::Softmax(dim)->forward(x), ref_softmax(values(x), 4, 5, dim, false), 1e-5);
    expect_values(nn::LogSoftmax(dim)->forward(x), ref_softmax(values(x), 4, 5, dim, true), 1e-5);
  }
  expect_values(nn::Softmax(-1)->forward(x), ref_softmax(values(x), 4, 5, 1, false), 1e-5);
  Tensor xg = leaf(rnd({3, 4}, dev(), kFloat64, 6));
  expect_gradcheck([](const autograd::TensorList& a) { return nn::Softmax(1)->forward(a[0]); }, {xg});
  expect_gradcheck([](const autograd::TensorList& a) { return nn::LogSoftmax(0)->forward(a[0]); }, {xg});
}

TEST_P(NNActivations, FunctionalMatchesModules) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({5}, dev(), kFloat32, 7);
  expect_close(F::relu(x), nn::ReLU()(x));
  expect_close(F::leaky_relu(x, 0.1), nn::LeakyReLU(0.1)(x));
  expect_close(F::gelu(x, "tanh"), nn::GELU("tanh")(x));
  expect_close(F::silu(x), nn::SiLU()(x));
  expect_close(F::tanh(x), nn::Tanh()(x));
  expect_close(F::sigmoid(x), nn::Sigmoid()(x));
  expect_close(F::softmax(x, 0), nn::Softmax(0)(x));
  expect_close(F::log_softmax(x, 0), nn::LogSoftmax(0)(x));
}

TEST_P(NNActivations, HalfPrecisionAndSpecialValues) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<float>{-INFINITY, -1.0f, 0.0f, 2.0f, INFINITY}, {5}, opts());
  expect_close(nn::ReLU()(x), tensor(std::vector<float>{0, 0, 0, 2, INFINITY}, {5}, opts()));
  expect_values(nn::Sigmoid()(x), {0, 1.0 / (1.0 + std::exp(1.0)), 0.5, 1.0 / (1.0 + std::exp(-2.0)), 1}, 1e-6);
  Tensor h = x.to(kFloat16);
  Tensor y = nn::Tanh()(h);
  EXPECT_EQ(y.dtype(), kFloat16);
  expect_values(y, {-1, std::tanh(-1.0), 0, std::tanh(2.0), 1}, 2e-3);
  EXPECT_THROW_WITH(nn::GELU("fast"), ValueError, "'fast'");
  // 0-dim tensors keep their shape; NaN propagates.
  Tensor s = nn::ReLU()(scalar_tensor(-2.0, opts()));
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<double>(), 0.0);
  EXPECT_TRUE(std::isnan(nn::Sigmoid()(scalar_tensor(NAN, opts())).item<double>()));
}

INSTANTIATE_DEVICE_TESTS(NNActivations);
}  // namespace
}  // namespace kiln::test
