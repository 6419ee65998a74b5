// Tests of the unary math and activations: float64 host references on random, strided, empty, integer,
// 16-bit and NaN/inf inputs, plus their dtype rules and errors.
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_ref;
using test::ref_unary;

class PointwiseUnaryTest : public test::PointwiseTest {};

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input range
};

double ref_gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double ref_gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double ref_softplus(double x, double beta, double threshold) {
  return x * beta > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
}

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); }, [](double x) { return double((x > 0) - (x < 0)); }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -5, 5},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.01, 10},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.9, 5},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 10},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.1, 10},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -6, 6},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -6, 6},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -5, 5},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, ref_sigmoid, -10, 10},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -3, 3},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, [](double x) { return x > 0 ? x : 0.2 * x; },
       -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); }, ref_gelu, -5, 5},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, ref_gelu_tanh, -5, 5},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * ref_sigmoid(x); }, -8, 8},
      {"softplus", [](const Tensor& x) { return softplus(x); }, [](double x) { return ref_softplus(x, 1, 20); }, -30,
       30},
      {"softplus_beta", [](const Tensor& x) { return softplus(x, 2.0, 5.0); },
       [](double x) { return ref_softplus(x, 2, 5); }, -5, 5},
      {"floor", [](const Tensor& x) { return floor(x); }, [](double x) { return std::floor(x); }, -5, 5},
      {"ceil", [](const Tensor& x) { return ceil(x); }, [](double x) { return std::ceil(x); }, -5, 5},
      {"round", [](const Tensor& x) { return round(x); }, [](double x) { return std::nearbyint(x); }, -5, 5},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; }, 0.1, 5},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
  };
}

TEST_P(PointwiseUnaryTest, MathMatchesReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const auto& c : unary_cases())
    for (DType dt : {kFloat32, kFloat64}) {
      SCOPED_TRACE(::testing::Message() << c.name << " " << dt);
      Tensor x = uni({7, 9}, c.lo, c.hi, dt);
      Tensor y = c.op(x);
      EXPECT_EQ(y.dtype(), dt);
      EXPECT_EQ(y.device(), dev());
      expect_ref(y, x.sizes(), ref_unary(x, c.ref), dt == kFloat32 ? 4e-6 : 1e-12, dt == kFloat32 ? 2e-6 : 1e-12);
    }
}

TEST_P(PointwiseUnaryTest, SixteenBitComputeInFloat) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const auto& c : unary_cases())
    for (DType dt : {kFloat16, kBFloat16}) {
      SCOPED_TRACE(::testing::Message() << c.name << " " << dt);
      Tensor x = uni({33}, c.lo, c.hi, dt);
      Tensor y = c.op(x);
      EXPECT_EQ(y.dtype(), dt);
      // One rounding of the float result to 16 bits.
      expect_ref(y, x.sizes(), ref_unary(x, c.ref), test::rtol_for(dt), 1e-3);
    }
}

TEST_P(PointwiseUnaryTest, NonContiguousAndEmpty) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor t = rnd({5, 6}).t();
  Tensor s = rnd({4, 10}).slice(1, 1, 10, 3);
  expect_ref(exp(t), t.sizes(), ref_unary(t, [](double x) { return std::exp(x); }), 4e-6);
  expect_ref(gelu(s), s.sizes(), ref_unary(s, ref_gelu), 4e-6, 1e-6);
  expect_ref(abs(s), s.sizes(), ref_unary(s, [](double x) { return std::fabs(x); }), 0);
  for (const auto& c : unary_cases()) {
    Tensor e = c.op(rnd({0, 4}));
    EXPECT_EQ(e.sizes(), (Shape{0, 4})) << c.name;
  }
  Tensor z = exp(scalar_tensor(1.0, opts()));
  EXPECT_EQ(z.dim(), 0);
  EXPECT_NEAR(z.item<double>(), std::exp(1.0), 1e-6);
}

TEST_P(PointwiseUnaryTest, IntegerInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = vals({-3, 0, 2, 5}, kInt64);
  // Floating functions of integers compute in float32.
  using Fn = Tensor (*)(const Tensor&);
  for (Fn f : std::vector<Fn>{exp, log, sqrt, sin, sigmoid, tanh, reciprocal}) EXPECT_EQ(f(i).dtype(), kFloat32);
  test::expect_values(exp(i), {std::exp(-3.0), 1, std::exp(2.0), std::exp(5.0)}, 1e-6);
  // Integer-preserving ops keep the dtype.
  EXPECT_EQ(neg(i).dtype(), kInt64);
  test::expect_values(neg(i), {3, 0, -2, -5});
  test::expect_values(abs(i), {3, 0, 2, 5});
  test::expect_values(sign(i), {-1, 0, 1, 1});
  test::expect_values(square(i), {9, 0, 4, 25});
  test::expect_values(relu(i), {0, 0, 2, 5});
  test::expect_values(floor(i), {-3, 0, 2, 5});
  EXPECT_EQ(round(vals({1, 2}, kInt32)).dtype(), kInt32);
  EXPECT_EQ(square(vals({1, 0}, kBool)).dtype(), kInt64);
  test::expect_values(abs(vals({-5, 7}, kInt32)), {5, 7});
  EXPECT_THROW(neg(vals({1, 0}, kBool)), DTypeError);
  EXPECT_THROW(leaky_relu(i), DTypeError);
  EXPECT_THROW(gelu(i), DTypeError);
  EXPECT_THROW(relu(vals({1, 0}, kBool)), DTypeError);
}

TEST_P(PointwiseUnaryTest, RoundHalfToEvenAndSpecialValues) {
  KILN_SKIP_IF_NO_DEVICE();
  test::expect_values(round(vals({0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.6, -2.4})), {0, 2, 2, -0.0, -2, -2, 3, -2});
  Tensor sp = vals({NAN, INFINITY, -INFINITY, 0.0});
  auto r = relu(sp).to_vector<double>();
  EXPECT_TRUE(std::isnan(r[0]));
  EXPECT_EQ(r[1], INFINITY);
  EXPECT_EQ(r[2], 0);
  auto sg = sigmoid(sp).to_vector<double>();
  EXPECT_TRUE(std::isnan(sg[0]));
  EXPECT_EQ(sg[1], 1);
  EXPECT_EQ(sg[2], 0);
  EXPECT_EQ(sg[3], 0.5);
  auto ex = exp(sp).to_vector<double>();
  EXPECT_EQ(ex[1], INFINITY);
  EXPECT_EQ(ex[2], 0);
  auto lg = log(vals({0.0, -1.0})).to_vector<double>();
  EXPECT_EQ(lg[0], -INFINITY);
  EXPECT_TRUE(std::isnan(lg[1]));
  EXPECT_TRUE(std::isnan(gelu(sp).to_vector<double>()[0]));
  EXPECT_EQ(sign(sp).to_vector<double>()[1], 1);
  // Large inputs: no overflow into NaN.
  EXPECT_EQ(silu(vals({-1000.0})).item<double>(), -0.0);
  EXPECT_EQ(softplus(vals({1000.0})).item<double>(), 1000.0);
  EXPECT_EQ(tanh(vals({1000.0})).item<double>(), 1.0);
}

TEST_P(PointwiseUnaryTest, ClampWithNanAndPromotion) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = uni({6, 5}, -3, 3);
  expect_ref(clamp(x, -1, 1.5), x.sizes(), ref_unary(x, [](double v) { return std::min(std::max(v, -1.0), 1.5); }), 0);
  expect_ref(clamp_min(x, 0.5), x.sizes(), ref_unary(x, [](double v) { return std::max(v, 0.5); }), 0);
  expect_ref(clamp_max(x, -0.5), x.sizes(), ref_unary(x, [](double v) { return std::min(v, -0.5); }), 0);
  expect_ref(clamp(x.t(), -1, 1), {5, 6}, ref_unary(x.t(), [](double v) { return std::min(std::max(v, -1.0), 1.0); }),
             0);
  auto n = clamp(vals({NAN, 5, -5}), -1, 1).to_vector<double>();
  EXPECT_TRUE(std::isnan(n[0]));
  EXPECT_EQ(n[1], 1);
  EXPECT_EQ(n[2], -1);
  // lo > hi gives hi everywhere, as torch.
  test::expect_values(clamp(vals({-2, 0, 2}), 1, -1), {-1, -1, -1});
  // Integer tensors: integer bounds keep the dtype, float bounds promote to float32.
  Tensor i = vals({-5, 0, 5}, kInt32);
  EXPECT_EQ(clamp(i, -1, 1).dtype(), kInt32);
  test::expect_values(clamp(i, -1, 1), {-1, 0, 1});
  EXPECT_EQ(clamp(i, -0.5, 0.5).dtype(), kFloat32);
  test::expect_values(clamp(i, -0.5, 0.5), {-0.5, 0, 0.5});
  test::expect_values(clamp(vals({0, 200, 255}, kUInt8), -10, 1000), {0, 200, 255});
  Tensor h = clamp(rnd({8}, kFloat16), -0.5, 0.5);
  EXPECT_EQ(h.dtype(), kFloat16);
  for (double v : h.to_vector<double>()) EXPECT_LE(std::fabs(v), 0.5);
  EXPECT_THROW(clamp(vals({1, 0}, kBool), 0, 1), DTypeError);
}

TEST_P(PointwiseUnaryTest, WhereAndMaskedFill) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({3, 4}), b = rnd({1, 4});
  Tensor c = gt(rnd({3, 1}), 0.0);
  Shape s;
  auto cv = c.to_vector<double>();
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> e(12), em(12), es(12);
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 4; ++k) {
      e[r * 4 + k] = cv[r] ? av[r * 4 + k] : bv[k];
      em[r * 4 + k] = cv[r] ? -7.0 : av[r * 4 + k];
      es[r * 4 + k] = cv[r] ? av[r * 4 + k] : 2.5;
    }
  expect_ref(where(c, a, b), {3, 4}, e, 0);
  expect_ref(masked_fill(a, c, -7.0), {3, 4}, em, 0);
  expect_ref(where(c, a, 2.5), {3, 4}, es, 0);
  // masked_fill keeps a's dtype; where promotes its two values.
  EXPECT_EQ(masked_fill(vals({1, 2}, kInt32), vals({1, 0}, kBool), 9).dtype(), kInt32);
  EXPECT_EQ(where(vals({1, 0}, kBool), vals({1, 2}, kInt32), vals({0.5, 0.5}, kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(where(vals({1, 0}, kBool), vals({1, 2}, kInt32), 0.5).dtype(), kFloat32);
  test::expect_values(where(vals({1, 0}, kBool), vals({1, 2}, kInt32), 0.5), {1, 0.5});
  // Broadcasting the mask grows the result, as torch's out-of-place masked_fill.
  EXPECT_EQ(masked_fill(rnd({4}), gt(rnd({2, 1}), 0.0), 0).sizes(), (Shape{2, 4}));
  EXPECT_EQ(where(gt(rnd({0, 1}), 0.0), rnd({3}), 1.0).sizes(), (Shape{0, 3}));
  EXPECT_THROW(where(vals({1, 0}, kFloat32), vals({1, 2}), 0.0), DTypeError);
  EXPECT_THROW(masked_fill(vals({1, 2}), vals({1, 0}, kUInt8), 0.0), DTypeError);
  EXPECT_THROW(masked_fill(a, vals({1, 0, 1}, kBool), 0), ShapeError);
  EXPECT_THROW(where(c, rnd({3, 5}), b), ShapeError);
}

TEST_P(PointwiseUnaryTest, CastAndErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = vals({1.7, -2.2});
  EXPECT_TRUE(cast(x, kFloat32).is_same(x));
  Tensor i = cast(x, kInt32);
  EXPECT_EQ(i.dtype(), kInt32);
  test::expect_values(i, {1, -2});
  EXPECT_THROW(gelu(x, "fast"), ValueError);
  EXPECT_THROW(softplus(x, 0.0), ValueError);
}

INSTANTIATE_DEVICE_TESTS(PointwiseUnaryTest);
}  // namespace
}  // namespace kiln
