// Tests of comparisons, logic, isnan/isinf/isfinite, allclose and equal: bool results against host
// references, with broadcasting, Scalars, mixed dtypes, NaN and empty inputs.
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_ref;
using test::ref_binary;
using test::ref_unary;

class PointwiseCompareTest : public test::PointwiseTest {};

TEST_P(PointwiseCompareTest, ComparisonsMatchReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (auto& [sa, sb] : test::binary_shapes()) {
    SCOPED_TRACE(::testing::Message() << shape_to_string(sa) << " vs " << shape_to_string(sb));
    // Small integers as floats so that ties happen.
    Tensor a = round(uni(sa, -2, 2)), b = round(uni(sb, -2, 2));
    Shape s;
    auto ref = [&](std::function<bool(double, double)> f) {
      return ref_binary(
          a, b, [f](double x, double y) { return f(x, y) ? 1.0 : 0.0; }, &s);
    };
    Tensor r = eq(a, b);
    EXPECT_EQ(r.dtype(), kBool);
    expect_ref(r, s, ref([](double x, double y) { return x == y; }), 0);  // s is set by ref() before the check
    expect_ref(ne(a, b), s, ref([](double x, double y) { return x != y; }), 0);
    expect_ref(lt(a, b), s, ref([](double x, double y) { return x < y; }), 0);
    expect_ref(le(a, b), s, ref([](double x, double y) { return x <= y; }), 0);
    expect_ref(gt(a, b), s, ref([](double x, double y) { return x > y; }), 0);
    expect_ref(ge(a, b), s, ref([](double x, double y) { return x >= y; }), 0);
    expect_ref(a > b, s, ref([](double x, double y) { return x > y; }), 0);
  }
}

TEST_P(PointwiseCompareTest, ScalarsMixedDtypesAndNan) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals({-1, 0, 0.5, 1, NAN});
  test::expect_values(eq(a, 0.5), {0, 0, 1, 0, 0});
  test::expect_values(ne(a, 0.5), {1, 1, 0, 1, 1});  // NaN != anything
  test::expect_values(lt(a, 0.5), {1, 1, 0, 0, 0});
  test::expect_values(le(a, 0.5), {1, 1, 1, 0, 0});
  test::expect_values(a > 0.5, {0, 0, 0, 1, 0});
  test::expect_values(a >= 0.5, {0, 0, 1, 1, 0});
  test::expect_values(eq(a, a), {1, 1, 1, 1, 0});
  // An int tensor against a fractional Scalar compares in float: 0 < 0.5.
  Tensor i = vals({0, 1}, kInt64);
  test::expect_values(lt(i, 0.5), {1, 0});
  test::expect_values(eq(i, vals({0.0, 1.5}, kFloat64)), {1, 0});
  test::expect_values(eq(vals({1, 0}, kBool), vals({1, 1}, kBool)), {1, 0});
  test::expect_values(gt(rnd({3}, kBFloat16), 100.0), {0, 0, 0});
  EXPECT_EQ(eq(rnd({0, 2}), 1.0).sizes(), (Shape{0, 2}));
  EXPECT_THROW(lt(rnd({2}), rnd({3})), ShapeError);
}

TEST_P(PointwiseCompareTest, LogicalOps) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals({1, 1, 0, 0}, kBool), b = vals({1, 0, 1, 0}, kBool);
  test::expect_values(logical_and(a, b), {1, 0, 0, 0});
  test::expect_values(logical_or(a, b), {1, 1, 1, 0});
  test::expect_values(logical_xor(a, b), {0, 1, 1, 0});
  test::expect_values(logical_not(a), {0, 0, 1, 1});
  test::expect_values(a && b, {1, 0, 0, 0});
  test::expect_values(!b, {0, 1, 0, 1});
  // Non-bool inputs: nonzero (and NaN) is true; the result is bool.
  Tensor f = vals({2.5, 0, NAN, -1});
  Tensor r = logical_and(f, vals({1, 1, 1, 0}, kInt32));
  EXPECT_EQ(r.dtype(), kBool);
  test::expect_values(r, {1, 0, 1, 0});
  test::expect_values(logical_not(f), {0, 1, 0, 0});
  // Broadcasting and strides.
  Tensor m = gt(rnd({3, 4}), 0.0);
  Tensor col = gt(rnd({3, 1}), 0.0);
  Shape s;
  expect_ref(logical_or(m.t(), col.t()), {4, 3},
             ref_binary(
                 m.t(), col.t(), [](double x, double y) { return (x != 0 || y != 0) ? 1.0 : 0.0; }, &s),
             0);
}

TEST_P(PointwiseCompareTest, FloatClassification) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    Tensor a = vals({1, NAN, INFINITY, -INFINITY, 0}, dt);
    test::expect_values(isnan(a), {0, 1, 0, 0, 0});
    test::expect_values(isinf(a), {0, 0, 1, 1, 0});
    test::expect_values(isfinite(a), {1, 0, 0, 0, 1});
    EXPECT_EQ(isnan(a).dtype(), kBool);
  }
  Tensor i = vals({1, 2}, kInt64);
  test::expect_values(isnan(i), {0, 0});
  test::expect_values(isinf(i), {0, 0});
  test::expect_values(isfinite(i), {1, 1});
  EXPECT_EQ(isfinite(i).device(), dev());
}

TEST_P(PointwiseCompareTest, AllcloseAndEqual) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({4, 5});
  Tensor b = add(a, 1e-7);
  EXPECT_TRUE(allclose(a, a));
  EXPECT_TRUE(allclose(a, b, 1e-5, 1e-6));
  EXPECT_FALSE(allclose(a, add(a, 1e-3)));
  EXPECT_TRUE(allclose(a, add(a, 1e-3), 0, 2e-3));
  EXPECT_TRUE(allclose(a.t(), a.t().contiguous()));
  // Broadcasting, like torch.isclose.
  EXPECT_TRUE(allclose(full({3}, 2.0, opts()), full({1}, 2.0, opts())));
  // inf is close only to the same inf; NaN only with equal_nan.
  Tensor x = vals({INFINITY, NAN, 1}), y = vals({INFINITY, NAN, 1});
  EXPECT_FALSE(allclose(x, y));
  EXPECT_TRUE(allclose(x, y, 1e-5, 1e-8, true));
  EXPECT_FALSE(allclose(vals({INFINITY}), vals({-INFINITY})));
  EXPECT_FALSE(allclose(vals({INFINITY}), vals({1e30}), 1, 1));
  EXPECT_TRUE(allclose(vals({10, 20}, kInt64), vals({11, 20}, kInt64), 0.1, 0));
  EXPECT_TRUE(allclose(rnd({0, 3}), rnd({0, 3})));
  EXPECT_THROW(allclose(a, a.to(kFloat64)), DTypeError);
  EXPECT_THROW(allclose(rnd({2}), rnd({3})), ShapeError);

  EXPECT_TRUE(equal(a, a.clone()));
  EXPECT_FALSE(equal(a, b));
  EXPECT_FALSE(equal(a, a.reshape({5, 4})));  // same values, different shape
  EXPECT_FALSE(equal(x, y));                  // NaN != NaN
  EXPECT_TRUE(equal(vals({1, 2}, kInt32), vals({1, 2}, kFloat64)));
  EXPECT_TRUE(equal(rnd({0}), rnd({0})));
}

INSTANTIATE_DEVICE_TESTS(PointwiseCompareTest);
}  // namespace
}  // namespace kiln
