// Tests of var, std, norm and logsumexp: float64 references (two-pass variance), numerical stability,
// corrections, -inf/inf/NaN rows, dtype rules and float64 gradchecks.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "ops/test_reduce_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::gradcheck;
using autograd::TensorList;
using test::expect_reduced;
using test::reduce_ref;
using test::reduced_shape;

class ReduceStatsTest : public test::DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  Tensor leaf(const Shape& s) {
    Tensor t = randn(s, opts(kFloat64), &gen_);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{31};
};

TEST_P(ReduceStatsTest, VarStdMatchTwoPassReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = rnd({4, 5, 6}, dt);
    for (const Shape& dims : std::vector<Shape>{{}, {0}, {2}, {0, 2}, {-1, 1}})
      for (int64_t corr : {0, 1, 2})
        for (bool keep : {false, true}) {
          SCOPED_TRACE(::testing::Message() << dt << " dims " << shape_to_string(dims) << " correction " << corr);
          Shape shape = reduced_shape(x.sizes(), dims, keep);
          auto v = reduce_ref(x, dims, [corr](const std::vector<double>& g) { return test::ref_var(g, corr); });
          expect_reduced(var(x, dims, corr, keep), shape, v, 1e-5);
          std::vector<double> s;
          for (double e : v) s.push_back(std::sqrt(e));
          expect_reduced(std(x, dims, corr, keep), shape, s, 1e-5);
        }
  }
  Tensor t = rnd({30, 40}).t();
  expect_reduced(var(t, {1}), {40}, reduce_ref(t, {1}, [](const std::vector<double>& g) { return test::ref_var(g, 1); }));
}

TEST_P(ReduceStatsTest, VarianceIsStableWithALargeMean) {
  KILN_SKIP_IF_NO_DEVICE();
  // sum(x^2) - n mean^2 in float would cancel to garbage here; Welford keeps the small spread.
  Tensor x = add(mul(rnd({100000}), 0.01), 1000.0);
  double ref = reduce_ref(x, {}, [](const std::vector<double>& g) { return test::ref_var(g, 1); })[0];
  EXPECT_NEAR(var(x).item<double>(), ref, 1e-2 * ref);
  Tensor big = rnd({2 * 1000 * 1000});
  double rb = reduce_ref(big, {}, [](const std::vector<double>& g) { return test::ref_var(g, 1); })[0];
  EXPECT_NEAR(var(big).item<double>(), rb, 1e-4 * rb);
  // Data far from zero with a small spread: a float32 running mean kept too few bits (4.5% off).
  Tensor far = add(mul(arange(1000, opts()), 0.001), 10000.0);
  const double rf = reduce_ref(far, {}, [](const std::vector<double>& g) { return test::ref_var(g, 1); })[0];
  EXPECT_NEAR(var(far).item<double>(), rf, 1e-5 * rf);
  Tensor cols = add(rnd({5000, 3}), 50.0);
  expect_reduced(std(cols, {0}), {3}, reduce_ref(cols, {0}, [](const std::vector<double>& g) {
                   return std::sqrt(test::ref_var(g, 1));
                 }), 1e-4);
}

TEST_P(ReduceStatsTest, VarEdgeCasesAndDTypes) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(std::isnan(var(ones({1}, opts())).item<float>()));  // one element, correction 1: 0/0
  EXPECT_EQ(var(ones({1}, opts()), {}, 0).item<float>(), 0.0f);
  EXPECT_TRUE(std::isnan(var(zeros({0}, opts())).item<float>()));
  EXPECT_TRUE(std::isnan(std(tensor(std::vector<float>{1, NAN, 2}, {3}, opts())).item<float>()));
  Tensor h = rnd({8, 50}).to(kBFloat16);
  EXPECT_EQ(var(h, {1}).dtype(), kBFloat16);
  expect_reduced(var(h, {1}), {8}, reduce_ref(h, {1}, [](const std::vector<double>& g) { return test::ref_var(g, 1); }),
                 2e-2, 1e-2);
  EXPECT_THROW(var(tensor(std::vector<int64_t>{1, 2}, {2}, opts(kInt64))), DTypeError);
  EXPECT_THROW(std(tensor(std::vector<int32_t>{1, 2}, {2}, opts(kInt32))), DTypeError);
  EXPECT_THROW(var(rnd({2, 2}), {0, 0}), ValueError);
}

TEST_P(ReduceStatsTest, NormsMatchReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({3, 4, 5}, kFloat64);
  for (double p : std::vector<double>{2.0, 1.0, 0.0, 3.0, 0.5, INFINITY, -INFINITY})
    for (const Shape& dims : std::vector<Shape>{{}, {1}, {0, 2}})
      for (bool keep : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "p " << p << " dims " << shape_to_string(dims));
        expect_reduced(norm(x, p, dims, keep), reduced_shape(x.sizes(), dims, keep),
                       reduce_ref(x, dims, [p](const std::vector<double>& g) { return test::ref_norm(g, p); }), 1e-10);
      }
  Tensor f = rnd({1000, 33}).t();
  expect_reduced(norm(f, 2.0, {1}), {33}, reduce_ref(f, {1}, [](const std::vector<double>& g) { return test::ref_norm(g, 2); }));
  Tensor h = rnd({64}).to(kFloat16);
  EXPECT_EQ(norm(h).dtype(), kFloat16);
  EXPECT_NEAR(norm(h).item<double>(), test::ref_norm(h.to_vector<double>(), 2), 2e-2);
  EXPECT_EQ(norm(zeros({0}, opts())).item<float>(), 0.0f);
  EXPECT_THROW(norm(zeros({0}, opts()), INFINITY), IndexError);
  EXPECT_THROW(norm(tensor(std::vector<int64_t>{3, 4}, {2}, opts(kInt64))), DTypeError);
}

TEST_P(ReduceStatsTest, LogSumExpIsStable) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({4, 5, 6});
  for (const Shape& dims : std::vector<Shape>{{}, {0}, {2}, {1, 2}})
    for (bool keep : {false, true})
      expect_reduced(logsumexp(x, dims, keep), reduced_shape(x.sizes(), dims, keep),
                     reduce_ref(x, dims, test::ref_logsumexp));
  Tensor big = tensor(std::vector<float>{1000, 1000, -1000, 89, 90, 91}, {2, 3}, opts());
  test::expect_values(logsumexp(big, {1}), {1000 + std::log(2.0), 91 + std::log(1 + std::exp(-1.0) + std::exp(-2.0))},
                      1e-6);
  float inf = INFINITY;
  Tensor special = tensor(std::vector<float>{-inf, -inf, -inf, 1, -inf, 2, inf, 0, 3, NAN, 0, 1}, {4, 3}, opts());
  Tensor r = logsumexp(special, {1});
  auto v = r.to_vector<float>();
  EXPECT_EQ(v[0], -inf);  // a row of -inf gives -inf, not nan
  EXPECT_NEAR(v[1], std::log(std::exp(1.0) + std::exp(2.0)), 1e-5);
  EXPECT_EQ(v[2], inf);
  EXPECT_TRUE(std::isnan(v[3]));
  EXPECT_EQ(logsumexp(zeros({0, 2}, opts()), {0}).to_vector<float>()[0], -inf);
  // Integer inputs compute in float32.
  Tensor i = tensor(std::vector<int64_t>{0, 0}, {2}, opts(kInt64));
  EXPECT_EQ(logsumexp(i, {0}).dtype(), kFloat32);
  EXPECT_NEAR(logsumexp(i, {0}).item<float>(), std::log(2.0f), 1e-6);
  Tensor lbig = rnd({3, 100000});
  expect_reduced(logsumexp(lbig, {1}), {3}, reduce_ref(lbig, {1}, test::ref_logsumexp), 1e-5);
  Tensor h = rnd({5, 20}).to(kFloat16);
  expect_reduced(logsumexp(h, {1}), {5}, reduce_ref(h, {1}, test::ref_logsumexp), 2e-3, 1e-2);
}

TEST_P(ReduceStatsTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return var(x[0]); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return var(x[0], {1}, 0, true); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std(x[0]); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std(x[0], {0, 2}, 2); }, {leaf({3, 2, 4})}));
  for (double p : std::vector<double>{2.0, 1.0, 3.0, 1.5, INFINITY, -INFINITY}) {
    SCOPED_TRACE(::testing::Message() << "p " << p);
    EXPECT_TRUE(gradcheck([p](const TensorList& x) { return norm(x[0], p); }, {leaf({3, 4})}));
    EXPECT_TRUE(gradcheck([p](const TensorList& x) { return norm(x[0], p, {1}, true); }, {leaf({3, 4})}));
  }
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return logsumexp(x[0], {1}); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return logsumexp(x[0], {0, 2}, true); }, {leaf({3, 2, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return logsumexp(x[0].t(), {}); }, {leaf({3, 4})}));
}

TEST_P(ReduceStatsTest, ZeroNormAndConstantStdHaveZeroGradient) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor z = zeros({4}, opts(kFloat64));
  z.requires_grad_(true);
  norm(z).backward();
  test::expect_values(z.grad(), {0, 0, 0, 0});
  Tensor c = full({3}, 2.0, opts(kFloat64));
  c.requires_grad_(true);
  std(c).backward();
  test::expect_values(c.grad(), {0, 0, 0});
}

TEST_P(ReduceStatsTest, DoubleBackward) {
  KILN_SKIP_IF_NO_DEVICE();
  // These backwards use the op's own output, so create_graph must route through it too.
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return std(x, {1}); }, leaf({3, 4})));
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return var(x, {0}, 1, true); }, leaf({3, 4})));
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return norm(x, 2.0, {1}); }, leaf({3, 4})));
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return norm(x, 3.0); }, leaf({3, 4})));
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return logsumexp(x, {1}); }, leaf({3, 4})));
}

INSTANTIATE_DEVICE_TESTS(ReduceStatsTest);
}  // namespace
}  // namespace kiln
