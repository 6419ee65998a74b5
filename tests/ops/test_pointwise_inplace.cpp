// Tests of the in-place ops: values against host references, PyTorch's shape and dtype refusals, fill_
// and zero_ on views, aliasing, the optimizer building blocks, and autograd's in-place rules.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_ref;
using test::ref_binary;
using test::ref_unary;

class PointwiseInplaceTest : public test::PointwiseTest {};

TEST_P(PointwiseInplaceTest, ArithmeticWithTensorsAndScalars) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({3, 4}), b = rnd({4}), p = uni({3, 1}, 0.5, 2);
  Shape s;
  auto e = ref_binary(
      x, b, [](double u, double v) { return u + 2 * v; }, &s);
  Tensor y = x.clone();
  void* data = y.data_ptr();
  const Tensor& r = add_(y, b, 2);
  EXPECT_TRUE(r.is_same(y));
  EXPECT_EQ(y.data_ptr(), data);  // written in place
  expect_ref(y, {3, 4}, e);
  auto e2 = ref_binary(
      y, b, [](double u, double v) { return u - v; }, &s);
  sub_(y, b);
  expect_ref(y, {3, 4}, e2);
  auto e3 = ref_binary(
      y, p, [](double u, double v) { return u * v; }, &s);
  mul_(y, p);
  expect_ref(y, {3, 4}, e3);
  auto e4 = ref_binary(
      y, p, [](double u, double v) { return u / v; }, &s);
  div_(y, p);
  expect_ref(y, {3, 4}, e4, 2e-6);
  auto e5 = ref_unary(y, [](double u) { return ((u + 1.5) - 0.5) * 4 / 8; });
  add_(y, 1.5);
  sub_(y, 0.5);
  mul_(y, 4);
  div_(y, 8);
  expect_ref(y, {3, 4}, e5, 2e-6);
  auto e6 = ref_unary(y, [](double u) { return u + 1; });
  y += 1;
  expect_ref(y, {3, 4}, e6);
  auto e7 = ref_unary(y, [](double u) { return u * u; });
  y *= y;  // an exact alias reads each element before writing it
  expect_ref(y, {3, 4}, e7);
}

TEST_P(PointwiseInplaceTest, StridedSelfAndPartialOverlap) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor base = rnd({4, 6});
  Tensor before = base.clone();
  Tensor view = base.slice(1, 0, 6, 2);  // [4, 3], step 2
  add_(view, 10);
  auto bv = before.to_vector<double>(), av = base.to_vector<double>();
  for (int i = 0; i < 24; ++i) EXPECT_NEAR(av[i], bv[i] + (i % 2 == 0 ? 10 : 0), 1e-5) << i;
  // self += self.t() reads elements the loop has already written unless the input is copied first.
  Tensor sq = rnd({5, 5});
  Shape s;
  auto e = ref_binary(
      sq, sq.t(), [](double u, double v) { return u + v; }, &s);
  add_(sq, sq.t());
  expect_ref(sq, {5, 5}, e);
}

TEST_P(PointwiseInplaceTest, RefusesShapeGrowthAndNarrowingCasts) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({3});
  try {
    add_(x, rnd({2, 3}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  }
  Tensor i = vals({1, 2, 3}, kInt64);
  try {
    add_(i, rnd({3}));
    FAIL() << "expected DTypeError";
  } catch (const DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("result type Float can't be cast to the desired output type Long"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(mul_(i, 0.5), DTypeError);
  EXPECT_THROW(div_(i, 2), DTypeError);  // true division
  EXPECT_THROW(div_(i, vals({1, 1, 1}, kInt64)), DTypeError);
  EXPECT_THROW(add_(i, 1.5), DTypeError);
  EXPECT_THROW(clamp_(i, 0.5, 1), DTypeError);
  Tensor bl = vals({1, 0}, kBool);
  EXPECT_THROW(mul_(bl, vals({2, 2}, kInt32)), DTypeError);
  EXPECT_THROW(sub_(bl, bl), DTypeError);
  Tensor expanded = rnd({1}).expand({3});
  EXPECT_THROW(add_(expanded, 1.0), ValueError);
  EXPECT_THROW(fill_(expanded, 1.0), ValueError);
  test::expect_values(i, {1, 2, 3});  // untouched by the refused ops
  // Narrower self is fine when the category allows it: computed wider, stored as self's dtype.
  Tensor h = vals({1, 2, 3}, kFloat16);
  add_(h, vals({0.5, 0.5, 0.5}, kFloat64));
  EXPECT_EQ(h.dtype(), kFloat16);
  test::expect_values(h, {1.5, 2.5, 3.5});
  add_(i, vals({1, 1, 1}, kInt32));
  test::expect_values(i, {2, 3, 4});
}

TEST_P(PointwiseInplaceTest, FillZeroClampMaskedFillRelu) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({4, 6});
  Tensor col = x.slice(1, 1, 2);
  fill_(col, 3.5);
  auto v = x.to_vector<double>();
  for (int r = 0; r < 4; ++r) EXPECT_EQ(v[r * 6 + 1], 3.5);
  Tensor t = x.t();
  zero_(t);
  for (double u : x.to_vector<double>()) EXPECT_EQ(u, 0);
  Tensor i = vals({1, 2}, kInt32);
  fill_(i, 7);
  test::expect_values(i, {7, 7});
  Tensor e = rnd({0});
  fill_(e, 1);

  Tensor c = uni({5, 3}, -3, 3);
  auto ec = ref_unary(c, [](double u) { return std::min(std::max(u, -1.0), 1.0); });
  clamp_(c, -1, 1);
  expect_ref(c, {5, 3}, ec, 0);
  Tensor n = vals({NAN, 5});
  clamp_(n, 0, 1);
  EXPECT_TRUE(std::isnan(n.to_vector<double>()[0]));

  Tensor m = rnd({3, 4});
  Tensor mask = gt(rnd({4}), 0.0);
  auto mv = mask.to_vector<double>(), before = m.to_vector<double>();
  masked_fill_(m, mask, -1);
  auto after = m.to_vector<double>();
  for (int k = 0; k < 12; ++k) EXPECT_EQ(after[k], mv[k % 4] ? -1.0 : before[k]) << k;
  EXPECT_THROW(masked_fill_(m, gt(rnd({2, 3, 4}), 0.0), 0), ShapeError);
  EXPECT_THROW(masked_fill_(m, rnd({4}), 0), DTypeError);

  Tensor r = rnd({7});
  auto er = ref_unary(r, [](double u) { return u > 0 ? u : 0; });
  relu_(r);
  expect_ref(r, {7}, er, 0);
}

TEST_P(PointwiseInplaceTest, OptimizerBuildingBlocks) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64, kBFloat16}) {
    SCOPED_TRACE(::testing::Message() << dt);
    double tol = dt == kBFloat16 ? 2e-2 : 1e-5;
    Tensor s = rnd({4, 3}, dt), a = rnd({4, 3}, dt), b = uni({3}, 0.5, 2, dt);
    auto sv = s.to_vector<double>(), av = a.to_vector<double>(), bv = b.to_vector<double>();
    std::vector<double> em(12), ed(12), el(12);
    for (int k = 0; k < 12; ++k) {
      em[k] = sv[k] + 0.5 * av[k] * bv[k % 3];
      ed[k] = em[k] - 2.0 * av[k] / bv[k % 3];
      el[k] = ed[k] + 0.25 * (av[k] - ed[k]);
    }
    addcmul_(s, a, b, 0.5);
    expect_ref(s, {4, 3}, em, tol, tol);
    addcdiv_(s, a, b, -2.0);
    expect_ref(s, {4, 3}, ed, tol, tol);
    // Reference from the stored values, so bf16's rounding of the previous step does not count twice.
    auto cur = s.to_vector<double>();
    for (int k = 0; k < 12; ++k) el[k] = cur[k] + 0.25 * (av[k] - cur[k]);
    lerp_(s, a, 0.25);
    expect_ref(s, {4, 3}, el, tol, tol);
  }
  Tensor s = rnd({3});
  Tensor a = rnd({3});
  lerp_(s, a, 1.0);  // exact at w = 1
  expect_ref(s, {3}, a.to_vector<double>(), 0, 0);
  Tensor i = vals({1, 2}, kInt64);
  EXPECT_THROW(addcdiv_(i, i, i), DTypeError);
  addcmul_(i, i, i, 2);
  test::expect_values(i, {3, 10});
  EXPECT_THROW(addcmul_(i, i, i, 0.5), DTypeError);
  EXPECT_THROW(addcmul_(s, rnd({2, 3}), a), ShapeError);
}

TEST_P(PointwiseInplaceTest, AutogradRules) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor leaf = rnd({3});
  leaf.requires_grad_(true);
  EXPECT_THROW(add_(leaf, 1), AutogradError);
  {
    NoGradGuard g;
    add_(leaf, 1);  // allowed without grad mode, as optimizers do
  }
  Tensor y = mul(leaf, 2);
  uint32_t v0 = y._version();
  add_(y, 1);
  EXPECT_GT(y._version(), v0);
  EXPECT_TRUE(y.requires_grad());
  // A tensor saved for backward and then modified in place is caught.
  Tensor z = mul(leaf, 1.0);
  Tensor e = exp(z);
  add_(e, 1.0);
  EXPECT_THROW(sum(e).backward(), AutogradError);
}

INSTANTIATE_DEVICE_TESTS(PointwiseInplaceTest);
}  // namespace
}  // namespace kiln
