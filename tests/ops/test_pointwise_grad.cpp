// Gradient tests of the pointwise ops: float64 gradcheck (central differences) for every differentiable op,
// with broadcasting, Scalars, in-place forms, and double backward through the activations.
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::gradcheck;
using autograd::TensorList;

class PointwiseGradTest : public test::PointwiseTest {
 protected:
  // Inputs kept away from kinks (relu at 0, clamp bounds, max ties) so finite differences are valid.
  Tensor away(const Shape& s) {
    Tensor t = uni(s, 0.2, 2.0, kFloat64);
    Tensor sign = sub(mul(gt(uni(s, 0, 1, kFloat64), 0.5), 2), 1);
    Tensor r = mul(t, sign);
    r.requires_grad_(true);
    return r;
  }
};

using Fn1 = std::function<Tensor(const Tensor&)>;
using Fn2 = std::function<Tensor(const Tensor&, const Tensor&)>;

TEST_P(PointwiseGradTest, BinaryOpsWithBroadcasting) {
  KILN_SKIP_IF_NO_DEVICE();
  std::vector<std::pair<const char*, Fn2>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"add_alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, -1.5); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b, 2); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(abs(a), b); }},
      {"remainder", [](const Tensor& a, const Tensor& b) { return remainder(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"where", [](const Tensor& a, const Tensor& b) { return where(gt(a, 0.0), a, b); }},
  };
  for (auto& [name, f] : ops)
    for (auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {3, 4}}, {{3, 1}, {4}}, {{}, {2, 3}}}) {
      SCOPED_TRACE(::testing::Message() << name << " " << shape_to_string(sa) << " " << shape_to_string(sb));
      Tensor a = away(sa), b = away(sb);
      EXPECT_TRUE(gradcheck([&](const TensorList& in) { return f(in[0], in[1]); }, {a, b}));
    }
}

TEST_P(PointwiseGradTest, ScalarForms) {
  KILN_SKIP_IF_NO_DEVICE();
  std::vector<std::pair<const char*, Fn1>> ops = {
      {"add", [](const Tensor& a) { return add(a, 2.5); }},
      {"sub", [](const Tensor& a) { return sub(a, 2.5); }},
      {"rsub", [](const Tensor& a) { return rsub(a, 2.5); }},
      {"mul", [](const Tensor& a) { return mul(a, -3); }},
      {"div", [](const Tensor& a) { return div(a, 4.0); }},
      {"pow", [](const Tensor& a) { return pow(a, 3); }},
      {"pow_frac", [](const Tensor& a) { return pow(abs(a), 1.5); }},
      {"pow_zero", [](const Tensor& a) { return pow(a, 0); }},
      {"rpow", [](const Tensor& a) { return pow(2.0, a); }},
      {"remainder", [](const Tensor& a) { return remainder(a, 0.7); }},
      {"where_scalar", [](const Tensor& a) { return where(gt(a, 0.0), a, 1.5); }},
      {"masked_fill", [](const Tensor& a) { return masked_fill(a, lt(a, 0.0), 2.0); }},
      {"masked_fill_bcast",
       [](const Tensor& a) {
         return masked_fill(a, full({2, 1}, true, TensorOptions(kBool).device(a.device())), 0);
       }},
  };
  for (auto& [name, f] : ops) {
    SCOPED_TRACE(name);
    Tensor a = away({2, 5});
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return f(in[0]); }, {a}));
  }
}

TEST_P(PointwiseGradTest, UnaryMath) {
  KILN_SKIP_IF_NO_DEVICE();
  std::vector<std::pair<const char*, Fn1>> ops = {
      {"neg", [](const Tensor& a) { return neg(a); }},
      {"abs", [](const Tensor& a) { return abs(a); }},
      {"sign", [](const Tensor& a) { return sign(a); }},
      {"exp", [](const Tensor& a) { return exp(a); }},
      {"log", [](const Tensor& a) { return log(abs(a)); }},
      {"log1p", [](const Tensor& a) { return log1p(abs(a)); }},
      {"sqrt", [](const Tensor& a) { return sqrt(abs(a)); }},
      {"rsqrt", [](const Tensor& a) { return rsqrt(abs(a)); }},
      {"sin", [](const Tensor& a) { return sin(a); }},
      {"cos", [](const Tensor& a) { return cos(a); }},
      {"tanh", [](const Tensor& a) { return tanh(a); }},
      {"sigmoid", [](const Tensor& a) { return sigmoid(a); }},
      {"relu", [](const Tensor& a) { return relu(a); }},
      {"leaky_relu", [](const Tensor& a) { return leaky_relu(a, 0.1); }},
      {"gelu", [](const Tensor& a) { return gelu(a); }},
      {"gelu_tanh", [](const Tensor& a) { return gelu(a, "tanh"); }},
      {"silu", [](const Tensor& a) { return silu(a); }},
      {"softplus", [](const Tensor& a) { return softplus(a); }},
      {"softplus_beta", [](const Tensor& a) { return softplus(a, 3.0, 2.0); }},
      {"floor", [](const Tensor& a) { return floor(a); }},
      {"ceil", [](const Tensor& a) { return ceil(a); }},
      {"round", [](const Tensor& a) { return round(a); }},
      {"reciprocal", [](const Tensor& a) { return reciprocal(a); }},
      {"square", [](const Tensor& a) { return square(a); }},
      {"clamp", [](const Tensor& a) { return clamp(a, -1.0, 1.0); }},
      {"clamp_min", [](const Tensor& a) { return clamp_min(a, 0.5); }},
      {"clamp_max", [](const Tensor& a) { return clamp_max(a, -0.5); }},
      {"cast", [](const Tensor& a) { return cast(cast(a, kFloat32), kFloat64); }},
  };
  for (auto& [name, f] : ops) {
    SCOPED_TRACE(name);
    Tensor a = away({3, 4});
    if (std::string(name) == "cast") {
      // Through float32 the values round: compare the gradient (identity) directly.
      Tensor g = autograd::grad({sum(f(a))}, {a})[0];
      test::expect_values(g, std::vector<double>(12, 1.0));
      continue;
    }
    // Rounding ops are flat away from the half-integers the inputs avoid with high probability.
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return f(in[0]); }, {a}));
  }
}

TEST_P(PointwiseGradTest, GradientsKeepInputDtypeAndZeroOutsideClamp) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals({-2, -0.5, 0.5, 2}, kFloat32);
  a.requires_grad_(true);
  Tensor b = vals({1, 1, 1, 1}, kFloat64);
  b.requires_grad_(true);
  sum(mul(clamp(a, -1, 1), b)).backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(b.grad().dtype(), kFloat64);
  test::expect_values(a.grad(), {0, 1, 1, 0});
  // maximum splits ties evenly.
  Tensor x = vals({1, 2, 3}, kFloat64), y = vals({1, 5, 0}, kFloat64);
  x.requires_grad_(true);
  y.requires_grad_(true);
  sum(maximum(x, y)).backward();
  test::expect_values(x.grad(), {0.5, 0, 1});
  test::expect_values(y.grad(), {0.5, 1, 0});
  // 0^e: no NaN gradient for e >= 0.
  Tensor base = vals({0, 2}, kFloat64), ex = vals({2, 0}, kFloat64);
  base.requires_grad_(true);
  ex.requires_grad_(true);
  sum(pow(base, ex)).backward();
  test::expect_values(base.grad(), {0, 0});
  test::expect_values(ex.grad(), {0, std::log(2.0)});
}

TEST_P(PointwiseGradTest, InplaceOps) {
  KILN_SKIP_IF_NO_DEVICE();
  std::vector<std::pair<const char*, Fn2>> ops = {
      {"add_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 1.0);
         return add_(y, b, 2.0);
       }},
      {"sub_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 1.0);
         return sub_(y, b);
       }},
      {"mul_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 1.0);
         return mul_(y, b);
       }},
      {"div_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 1.0);
         return div_(y, b);
       }},
      {"scalar_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, b);
         add_(y, 1.0);
         sub_(y, 0.5);
         mul_(y, 3.0);
         return div_(y, 2.0);
       }},
      {"clamp_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, b);
         return clamp_(y, -0.6, 0.6);
       }},
      {"relu_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, b);
         return relu_(y);
       }},
      {"masked_fill_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, b);
         return masked_fill_(y, gt(a, 0.0), 1.0);
       }},
      {"fill_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, b);
         fill_(y, 2.0);
         return add(y, a);
       }},
      {"addcmul_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 2.0);
         return addcmul_(y, a, b, 0.5);
       }},
      {"addcdiv_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 2.0);
         return addcdiv_(y, a, b, -0.5);
       }},
      {"lerp_",
       [](const Tensor& a, const Tensor& b) {
         Tensor y = mul(a, 2.0);
         return lerp_(y, b, 0.3);
       }},
  };
  for (auto& [name, f] : ops) {
    SCOPED_TRACE(name);
    Tensor a = away({3, 4}), b = away({4});
    if (std::string(name) == "mul_" || std::string(name) == "scalar_" || std::string(name) == "clamp_" ||
        std::string(name) == "relu_" || std::string(name) == "masked_fill_" || std::string(name) == "fill_")
      b = away({3, 4});
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return f(in[0], in[1]); }, {a, b}));
  }
}

TEST_P(PointwiseGradTest, DoubleBackwardThroughActivations) {
  KILN_SKIP_IF_NO_DEVICE();
  std::vector<std::pair<const char*, Fn1>> ops = {
      {"tanh", [](const Tensor& a) { return tanh(a); }},
      {"sigmoid", [](const Tensor& a) { return sigmoid(a); }},
      {"gelu", [](const Tensor& a) { return gelu(a); }},
      {"gelu_tanh", [](const Tensor& a) { return gelu(a, "tanh"); }},
      {"silu", [](const Tensor& a) { return silu(a); }},
      {"softplus", [](const Tensor& a) { return softplus(a, 2.0, 3.0); }},
      {"leaky_relu", [](const Tensor& a) { return leaky_relu(a, 0.1); }},
      {"relu", [](const Tensor& a) { return relu(a); }},
      {"exp_div", [](const Tensor& a) { return div(exp(a), add(square(a), 1)); }},
      {"pow", [](const Tensor& a) { return pow(abs(a), a); }},
  };
  for (auto& [name, f] : ops) {
    SCOPED_TRACE(name);
    Tensor a = away({2, 3});
    // The first derivative, built as a graph, checked against finite differences of itself.
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return test::first_derivative(f, in[0]); }, {a}));
  }
}

INSTANTIATE_DEVICE_TESTS(PointwiseGradTest);
}  // namespace
}  // namespace kiln
