// clip_grad_norm_ and clip_grad_value_ against host computations, on every device.
#include <cmath>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/optim/clip.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {

class ClipGrad : public test::DeviceTest {
 protected:
  std::vector<Tensor> params_with_grads(DType t = kFloat64) {
    Generator gen(42);
    std::vector<Tensor> ps;
    for (Shape s : {Shape{5, 4}, Shape{7}, Shape{}}) {
      Tensor p = zeros(s, opts(t));
      p.requires_grad_(true);
      p.set_grad((randn(s, TensorOptions(kFloat64), &gen) * 3.0).to(dev(), t));
      ps.push_back(p);
    }
    return ps;
  }
};

double host_norm(const std::vector<std::vector<double>>& grads, double p) {
  double acc = 0;
  for (const auto& g : grads)
    for (double v : g) acc = std::isinf(p) ? std::max(acc, std::fabs(v)) : acc + std::pow(std::fabs(v), p);
  return std::isinf(p) ? acc : std::pow(acc, 1.0 / p);
}

TEST_P(ClipGrad, NormMatchesHostAndScalesGradients) {
  KILN_SKIP_IF_NO_DEVICE();
  for (double p : {2.0, 1.0, 3.0, double(INFINITY)}) {
    for (double max_norm : {0.5, 1e6}) {
      SCOPED_TRACE("norm " + std::to_string(p) + " max_norm " + std::to_string(max_norm));
      auto ps = params_with_grads();
      std::vector<std::vector<double>> before;
      for (const auto& q : ps) before.push_back(test::values(q.grad()));
      const double expected = host_norm(before, p);
      Tensor total = optim::clip_grad_norm_(ps, max_norm, p);
      EXPECT_EQ(total.dim(), 0);
      EXPECT_EQ(total.device(), ps[0].grad().device());
      EXPECT_NEAR(total.item<double>(), expected, 1e-10 * expected);
      const double coef = std::min(1.0, max_norm / (expected + 1e-6));
      for (size_t i = 0; i < ps.size(); ++i) {
        std::vector<double> scaled = before[i];
        for (double& v : scaled) v *= coef;
        test::expect_values(ps[i].grad(), scaled, 1e-12);
      }
      if (max_norm < expected) {
        std::vector<std::vector<double>> after;
        for (const auto& q : ps) after.push_back(test::values(q.grad()));
        EXPECT_NEAR(host_norm(after, p), max_norm, 1e-5);
      }
    }
  }
}

TEST_P(ClipGrad, SkipsMissingGradientsAndHandlesNone) {
  KILN_SKIP_IF_NO_DEVICE();
  auto ps = params_with_grads(kFloat32);
  ps[1].mutable_grad() = Tensor();
  const double expected = host_norm({test::values(ps[0].grad()), test::values(ps[2].grad())}, 2);
  Tensor total = optim::clip_grad_norm_(ps, 1.0);
  EXPECT_EQ(total.dtype(), kFloat32);
  EXPECT_NEAR(total.item<double>(), expected, 1e-5 * expected);
  EXPECT_FALSE(ps[1].grad().defined());
  Tensor lone = zeros({3}, opts());
  lone.requires_grad_(true);
  EXPECT_EQ(optim::clip_grad_norm_(std::vector<Tensor>{lone}, 1.0).item<double>(), 0.0);
  Tensor single = zeros({2}, opts());
  single.requires_grad_(true);
  single.set_grad(tensor(std::vector<float>{3.f, 4.f}, {2}, opts()));
  EXPECT_NEAR(optim::clip_grad_norm_(single, 1.0).item<double>(), 5.0, 1e-6);
  test::expect_values(single.grad(), {0.6, 0.8}, 1e-5);
}

TEST_P(ClipGrad, NonFiniteNorm) {
  KILN_SKIP_IF_NO_DEVICE();
  auto ps = params_with_grads();
  ps[1].set_grad(full({7}, NAN, opts(kFloat64)));
  EXPECT_THROW(optim::clip_grad_norm_(ps, 1.0, 2.0, /*error_if_nonfinite=*/true), ValueError);
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm_(ps, 1.0).item<double>()));
}

TEST_P(ClipGrad, ValueClampsEveryElement) {
  KILN_SKIP_IF_NO_DEVICE();
  auto ps = params_with_grads();
  std::vector<std::vector<double>> expected;
  for (const auto& q : ps) {
    auto v = test::values(q.grad());
    for (double& x : v) x = std::min(1.5, std::max(-1.5, x));
    expected.push_back(v);
  }
  optim::clip_grad_value_(ps, 1.5);
  for (size_t i = 0; i < ps.size(); ++i) test::expect_values(ps[i].grad(), expected[i], 0);
  EXPECT_THROW(optim::clip_grad_value_(ps, -1.0), ValueError);
}

INSTANTIATE_DEVICE_TESTS(ClipGrad);
}  // namespace
}  // namespace kiln
