// nn::init: gains, fans, the statistics of each initialiser, PyTorch's default layer initialisation, seeding.
#include <algorithm>
#include <cmath>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/init.h"
#include "kiln/nn/layers/embedding.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace init = nn::init;

class NNInit : public DeviceTest {};

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;
};
Stats stats(const Tensor& t) {
  auto v = values(t);
  Stats s;
  for (double e : v) s.mean += e;
  s.mean /= static_cast<double>(v.size());
  for (double e : v) s.std += (e - s.mean) * (e - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

TEST(NNInitMath, Gains) {
  EXPECT_DOUBLE_EQ(init::calculate_gain("linear"), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("conv2d"), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("sigmoid"), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu"), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(init::calculate_gain(init::Nonlinearity::SELU), 0.75);
  EXPECT_THROW_WITH(init::calculate_gain("swish"), ValueError, "'swish'", "relu");
  EXPECT_EQ(init::parse_fan_mode("fan_out"), init::FanMode::FanOut);
  EXPECT_THROW_WITH(init::parse_fan_mode("fan"), ValueError, "fan_in");
}

TEST(NNInitMath, Fans) {
  auto [fi, fo] = init::calculate_fan_in_and_fan_out(empty({16, 8, 3, 3}));
  EXPECT_EQ(fi, 72);
  EXPECT_EQ(fo, 144);
  auto [li, lo] = init::calculate_fan_in_and_fan_out(empty({64, 10}));
  EXPECT_EQ(li, 10);
  EXPECT_EQ(lo, 64);
  EXPECT_THROW_WITH(init::calculate_fan_in_and_fan_out(empty({5})), ValueError, "fewer than 2", "[5]");
}

TEST_P(NNInit, LinearDefaultMatchesTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(0);
  nn::Linear fc(256, 128);
  fc->to(dev());
  const double bound = 1.0 / 16.0;  // 1 / sqrt(in_features)
  Stats w = stats(fc->weight), b = stats(fc->bias);
  EXPECT_GE(w.min, -bound);
  EXPECT_LE(w.max, bound);
  EXPECT_GT(w.max, 0.99 * bound);
  EXPECT_LT(w.min, -0.99 * bound);
  EXPECT_NEAR(w.mean, 0.0, 0.01 * bound);
  EXPECT_NEAR(w.std, bound / std::sqrt(3.0), 0.02 * bound);
  EXPECT_GE(b.min, -bound);
  EXPECT_LE(b.max, bound);
  EXPECT_GT(b.max - b.min, bound);  // spread over the range, not a constant
}

TEST_P(NNInit, EmbeddingBilinearLayerNormDefaults) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(1);
  nn::Embedding emb(200, 100);
  Stats e = stats(emb->weight);
  EXPECT_NEAR(e.mean, 0.0, 0.02);
  EXPECT_NEAR(e.std, 1.0, 0.02);
  nn::Bilinear bl(25, 4, 30);
  Stats w = stats(bl->weight);
  EXPECT_GE(w.min, -0.2);
  EXPECT_LE(w.max, 0.2);
  EXPECT_GT(w.max, 0.19);
  nn::LayerNorm ln(7);
  EXPECT_EQ(values(ln->weight), std::vector<double>(7, 1.0));
  EXPECT_EQ(values(ln->bias), std::vector<double>(7, 0.0));
}

TEST_P(NNInit, InitialiserStatistics) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(2);
  Tensor t = empty({300, 200}, opts());
  const double fan_in = 200, fan_out = 300;

  init::xavier_uniform_(t, 2.0);
  double a = 2.0 * std::sqrt(6.0 / (fan_in + fan_out));
  Stats s = stats(t);
  EXPECT_LE(s.max, a);
  EXPECT_GT(s.max, 0.99 * a);
  EXPECT_NEAR(s.std, a / std::sqrt(3.0), 0.02 * a);

  init::xavier_normal_(t);
  EXPECT_NEAR(stats(t).std, std::sqrt(2.0 / (fan_in + fan_out)), 0.02 * std::sqrt(2.0 / (fan_in + fan_out)));

  init::kaiming_uniform_(t);  // a = 0, fan_in, leaky_relu -> bound sqrt(6 / fan_in)
  double kb = std::sqrt(6.0 / fan_in);
  s = stats(t);
  EXPECT_LE(s.max, kb);
  EXPECT_GT(s.max, 0.99 * kb);

  init::kaiming_normal_(t, 0.0, init::FanMode::FanOut, init::Nonlinearity::ReLU);
  EXPECT_NEAR(stats(t).std, std::sqrt(2.0 / fan_out), 0.02 * std::sqrt(2.0 / fan_out));

  init::normal_(t, 3.0, 0.5);
  s = stats(t);
  EXPECT_NEAR(s.mean, 3.0, 0.01);
  EXPECT_NEAR(s.std, 0.5, 0.01);

  init::uniform_(t, -2.0, -1.0);
  s = stats(t);
  EXPECT_GE(s.min, -2.0);
  EXPECT_LT(s.max, -1.0);
  EXPECT_NEAR(s.mean, -1.5, 0.01);

  init::constant_(t, 0.25);
  s = stats(t);
  EXPECT_EQ(s.min, 0.25);
  EXPECT_EQ(s.max, 0.25);
}

TEST_P(NNInit, WorksOnParametersAndViews) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor w = zeros({4, 3}, opts());
  w.requires_grad_(true);
  init::ones_(w.narrow(0, 1, 2));  // a view of a leaf that requires grad: no autograd error
  EXPECT_EQ(values(w), (std::vector<double>{0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0}));
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
  init::zeros_(w);
  init::kaiming_uniform_(w, std::sqrt(5.0));
  EXPECT_TRUE(w.is_leaf());
  EXPECT_EQ(w.grad_fn(), nullptr);
  EXPECT_THROW_WITH(init::normal_(zeros({3}, opts(kInt64))), DTypeError, "floating");
  Tensor empty_t = empty({0, 5}, opts());
  init::kaiming_uniform_(empty_t);  // torch: a warning and no-op
}

TEST_P(NNInit, SeedingIsReproducible) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(42);
  nn::Linear a(8, 4);
  manual_seed(42);
  nn::Linear b(8, 4);
  nn::Linear c(8, 4);
  EXPECT_EQ(values(a->weight), values(b->weight));
  EXPECT_EQ(values(a->bias), values(b->bias));
  EXPECT_NE(values(a->weight), values(c->weight));
  // An explicit generator on the device gives the same numbers as on the CPU.
  Generator g1(7), g2(7);
  Tensor on_dev = empty({5, 5}, opts()), on_cpu = empty({5, 5});
  init::xavier_uniform_(on_dev, 1.0, &g1);
  init::xavier_uniform_(on_cpu, 1.0, &g2);
  expect_close(on_dev.cpu(), on_cpu, 1e-6, 1e-7);
}

INSTANTIATE_DEVICE_TESTS(NNInit);
}  // namespace
}  // namespace kiln::test
