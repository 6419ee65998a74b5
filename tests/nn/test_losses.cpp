// Regression and binary losses: forward against float64 host formulas for every reduction, gradcheck, errors.
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/loss.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;
using nn::Reduction;

class NNLosses : public DeviceTest {};

const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

// Reduces per-element reference values; Mean divides by `denom` (the element count unless given).
std::vector<double> reduce_ref(const std::vector<double>& per, Reduction r, double denom = -1) {
  if (r == Reduction::None) return per;
  double s = 0;
  for (double v : per) s += v;
  if (r == Reduction::Sum) return {s};
  return {s / (denom < 0 ? static_cast<double>(per.size()) : denom)};
}

void expect_loss(const Tensor& loss, const std::vector<double>& expected, const Shape& none_shape, Reduction r,
                 double tol) {
  EXPECT_EQ(loss.sizes(), r == Reduction::None ? none_shape : Shape{});
  expect_values(loss, expected, tol);
}

double softplus(double v) { return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); }

TEST_P(NNLosses, ReductionParsing) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(nn::parse_reduction("mean"), Reduction::Mean);
  EXPECT_EQ(nn::parse_reduction("sum"), Reduction::Sum);
  EXPECT_EQ(nn::parse_reduction("none"), Reduction::None);
  EXPECT_THROW_WITH(nn::parse_reduction("avg"), ValueError, "'avg'", "'none'", "'mean'", "'sum'");
  Tensor a = rnd({3}, dev(), kFloat32), b = rnd({3}, dev(), kFloat32, 2);
  expect_close(F::mse_loss(a, b, "sum"), F::mse_loss(a, b, Reduction::Sum));
  EXPECT_THROW(F::l1_loss(a, b, "total"), ValueError);
}

TEST_P(NNLosses, RegressionLossesMatchHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({4, 5}, dev(), kFloat32, 1), t = rnd({4, 5}, dev(), kFloat32, 2);
  auto xv = values(x), tv = values(t);
  const double beta = 0.7;
  std::vector<double> mse, l1, huber;
  for (size_t i = 0; i < xv.size(); ++i) {
    double d = xv[i] - tv[i], a = std::fabs(d);
    mse.push_back(d * d);
    l1.push_back(a);
    huber.push_back(a < beta ? 0.5 * d * d / beta : a - 0.5 * beta);
  }
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_loss(F::mse_loss(x, t, r), reduce_ref(mse, r), {4, 5}, r, 1e-5);
    expect_loss(F::l1_loss(x, t, r), reduce_ref(l1, r), {4, 5}, r, 1e-5);
    expect_loss(F::smooth_l1_loss(x, t, r, beta), reduce_ref(huber, r), {4, 5}, r, 1e-5);
    expect_close(F::smooth_l1_loss(x, t, r, 0.0), F::l1_loss(x, t, r));
  }
  // Modules store the same settings.
  expect_close(nn::MSELoss(Reduction::Sum)(x, t), F::mse_loss(x, t, Reduction::Sum));
  expect_close(nn::SmoothL1Loss("none", beta)(x, t), F::smooth_l1_loss(x, t, Reduction::None, beta));
}

TEST_P(NNLosses, RegressionLossesGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({3, 4}, dev(), kFloat64, 3)), t = leaf(rnd({3, 4}, dev(), kFloat64, 4));
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_gradcheck([r](const autograd::TensorList& a) { return F::mse_loss(a[0], a[1], r); }, {x, t});
    expect_gradcheck([r](const autograd::TensorList& a) { return F::l1_loss(a[0], a[1], r); }, {x, t});
    expect_gradcheck([r](const autograd::TensorList& a) { return F::smooth_l1_loss(a[0], a[1], r, 0.5); }, {x, t});
  }
}

// Mean and Sum take the fused kernels; the elementwise losses reduced by sum/mean are the composite reference.
// 3 * 8192 + 5 elements cover several partial sums (several CUDA blocks and the second pass).
TEST_P(NNLosses, FusedMseMatchesTheComposite) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat64, kFloat32}) {
    const double tol = dt == kFloat64 ? 1e-12 : 1e-5;
    for (Shape shape : {Shape{32, 1}, Shape{3 * 8192 + 5}})
      for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + nn::reduction_name(r) + " " + shape_to_string(shape));
        Tensor x = rnd(shape, dev(), dt, 21), t = rnd(shape, dev(), dt, 22);
        Tensor xf = leaf(x), tf = leaf(t), xc = leaf(x), tc = leaf(t);
        Tensor fused = F::mse_loss(xf, tf, r);
        Tensor per = F::mse_loss(xc, tc, Reduction::None);
        Tensor composite = r == Reduction::Mean ? mean(per) : sum(per);
        expect_close(fused, composite, tol, tol);
        Tensor g = full({}, 0.75, opts(dt));
        autograd::backward({fused}, {g});
        autograd::backward({composite}, {g});
        expect_close(xf.grad(), xc.grad(), tol, tol);
        expect_close(tf.grad(), tc.grad(), tol, tol);
      }
  }
  // A transposed (non-contiguous) input, a target that needs no gradient, an empty mean (NaN, as PyTorch).
  Tensor a = leaf(rnd({4, 3}, dev(), kFloat64, 23));
  Tensor b = rnd({3, 4}, dev(), kFloat64, 24);
  expect_close(F::mse_loss(a.t(), b), mean(F::mse_loss(a.t(), b, Reduction::None)), 1e-12, 1e-12);
  F::mse_loss(a.t(), b).backward();
  expect_close(a.grad(), mul(sub(a, b.t()), 2.0 / 12), 1e-12, 1e-12);
  EXPECT_TRUE(std::isnan(F::mse_loss(zeros({0}, opts()), zeros({0}, opts())).item<double>()));
}

// Double backward builds the fused gradient from differentiable ops; its gradient passes gradcheck.
TEST_P(NNLosses, FusedMseGradientCanBeDifferentiatedAgain) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({3, 2}, dev(), kFloat64, 25)), t = leaf(rnd({3, 2}, dev(), kFloat64, 26));
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    auto first = [&](autograd::TensorList in) {
      AutoGradMode on(true);
      for (Tensor& v : in)
        if (!v.requires_grad()) v = v.detach().requires_grad_(true);
      auto g = autograd::grad({F::mse_loss(in[0], in[1], r)}, {in[0], in[1]}, {}, true, true);
      return add(mul(g[0], g[0]), g[1]);
    };
    expect_gradcheck(first, {x, t});
  }
}

TEST_P(NNLosses, BinaryCrossEntropyMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = sigmoid(rnd({3, 4}, dev(), kFloat64, 5)), t = rand({3, 4}, opts(kFloat64));
  Tensor w = add(rand({4}, opts(kFloat64)), 0.5);
  auto xv = values(x), tv = values(t), wv = values(w);
  std::vector<double> plain, weighted;
  for (size_t i = 0; i < xv.size(); ++i) {
    double l = -(tv[i] * std::log(xv[i]) + (1 - tv[i]) * std::log(1 - xv[i]));
    plain.push_back(l);
    weighted.push_back(l * wv[i % 4]);
  }
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_loss(F::binary_cross_entropy(x, t, Tensor(), r), reduce_ref(plain, r), {3, 4}, r, 1e-10);
    expect_loss(F::binary_cross_entropy(x, t, w, r), reduce_ref(weighted, r), {3, 4}, r, 1e-10);
    expect_close(nn::BCELoss(w, r)(x, t), F::binary_cross_entropy(x, t, w, r));
  }
}

TEST_P(NNLosses, BinaryCrossEntropyGradcheckAndSaturation) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(sigmoid(rnd({2, 3}, dev(), kFloat64, 6)));
  Tensor t = leaf(rand({2, 3}, opts(kFloat64)));
  Tensor w = leaf(add(rand({3}, opts(kFloat64)), 0.5));
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_gradcheck([r](const autograd::TensorList& a) { return F::binary_cross_entropy(a[0], a[1], a[2], r); },
                     {x, t, w});
  }
  // Saturated probabilities: the log is clamped at -100 and the gradient stays finite (no 0 * inf).
  Tensor sat = leaf(tensor(std::vector<double>{0.0, 1.0, 0.0, 1.0}, {4}, opts(kFloat64)));
  Tensor target = tensor(std::vector<double>{0.0, 1.0, 1.0, 0.0}, {4}, opts(kFloat64));
  Tensor loss = F::binary_cross_entropy(sat, target, Tensor(), Reduction::None);
  expect_values(loss, {0, 0, 100, 100}, 1e-12);
  sum(loss).backward();
  for (double g : values(sat.grad())) EXPECT_TRUE(std::isfinite(g)) << g;
  EXPECT_THROW_WITH({ F::binary_cross_entropy(add(x.detach(), 1.0), t); test::wait_for(dev()); }, ValueError,
                    "between 0 and 1");
}

TEST_P(NNLosses, BCEWithLogitsMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  // Large logits check the stable form (naive sigmoid-then-log would give inf).
  Tensor x = mul(rnd({3, 4}, dev(), kFloat64, 7), 40.0), t = rand({3, 4}, opts(kFloat64));
  Tensor w = add(rand({3, 1}, opts(kFloat64)), 0.5), pw = add(rand({4}, opts(kFloat64)), 0.5);
  auto xv = values(x), tv = values(t), wv = values(w), pv = values(pw);
  std::vector<double> plain, full;
  for (size_t i = 0; i < xv.size(); ++i) {
    double l = tv[i] * softplus(-xv[i]) + (1 - tv[i]) * softplus(xv[i]);
    plain.push_back(l);
    full.push_back(wv[i / 4] * (pv[i % 4] * tv[i] * softplus(-xv[i]) + (1 - tv[i]) * softplus(xv[i])));
  }
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_loss(F::binary_cross_entropy_with_logits(x, t, Tensor(), r), reduce_ref(plain, r), {3, 4}, r, 1e-10);
    expect_loss(F::binary_cross_entropy_with_logits(x, t, w, r, pw), reduce_ref(full, r), {3, 4}, r, 1e-10);
    expect_close(nn::BCEWithLogitsLoss(w, r, pw)(x, t), F::binary_cross_entropy_with_logits(x, t, w, r, pw));
  }
  // float32 agrees too.
  expect_values(F::binary_cross_entropy_with_logits(x.to(kFloat32), t.to(kFloat32), Tensor(), Reduction::None), plain,
                1e-5);
}

TEST_P(NNLosses, BCEWithLogitsGradcheckAndZeroLogit) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(mul(rnd({2, 3}, dev(), kFloat64, 8), 2.0));
  Tensor t = leaf(rand({2, 3}, opts(kFloat64)));
  Tensor w = leaf(add(rand({2, 3}, opts(kFloat64)), 0.5));
  Tensor pw = leaf(add(rand({3}, opts(kFloat64)), 0.5));
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_gradcheck(
        [r](const autograd::TensorList& a) { return F::binary_cross_entropy_with_logits(a[0], a[1], a[2], r, a[3]); },
        {x, t, w, pw});
    expect_gradcheck(
        [r](const autograd::TensorList& a) { return F::binary_cross_entropy_with_logits(a[0], a[1], Tensor(), r); },
        {x, t});
  }
  // At a logit of exactly 0 (a zero-initialised head) the gradient is sigmoid(0) - t.
  Tensor z = leaf(zeros({3}, opts(kFloat64)));
  Tensor target = tensor(std::vector<double>{0.0, 1.0, 0.25}, {3}, opts(kFloat64));
  sum(F::binary_cross_entropy_with_logits(z, target, Tensor(), Reduction::None)).backward();
  expect_values(z.grad(), {0.5, -0.5, 0.25}, 1e-12);
}

TEST_P(NNLosses, ShapeAndDTypeErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = zeros({32, 1}, opts()), b = zeros({32}, opts());
  EXPECT_THROW_WITH(F::mse_loss(a, b), ShapeError, "[32, 1]", "[32]");
  EXPECT_THROW_WITH(F::l1_loss(a, b), ShapeError, "[32, 1]", "[32]");
  EXPECT_THROW_WITH(F::binary_cross_entropy_with_logits(a, b), ShapeError, "[32, 1]", "[32]");
  EXPECT_THROW_WITH(F::binary_cross_entropy_with_logits(b, b, zeros({5}, opts())), ShapeError, "[5]", "[32]");
  EXPECT_THROW_WITH(F::mse_loss(zeros({3}, opts(kInt64)), zeros({3}, opts(kInt64))), DTypeError, "int64");
  // Empty inputs: sums are 0, means NaN (as torch).
  Tensor e = zeros({0}, opts());
  EXPECT_EQ(F::mse_loss(e, e, Reduction::Sum).item<double>(), 0.0);
  EXPECT_TRUE(std::isnan(F::mse_loss(e, e).item<double>()));
}

TEST_P(NNLosses, HalfPrecisionLoss) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({8}, dev(), kFloat32, 9), t = rnd({8}, dev(), kFloat32, 10);
  double ref = F::mse_loss(x.to(kFloat64), t.to(kFloat64)).item<double>();
  for (DType dt : {kFloat16, kBFloat16}) {
    Tensor l = F::mse_loss(x.to(dt), t.to(dt));
    EXPECT_EQ(l.dtype(), dt);
    EXPECT_NEAR(l.item<double>(), ref, 3e-2 * (1 + ref));
  }
}

INSTANTIATE_DEVICE_TESTS(NNLosses);
}  // namespace
}  // namespace kiln::test
