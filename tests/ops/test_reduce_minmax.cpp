// Tests of max/min (all and along a dim), amax/amin and argmax/argmin: float64 references, first-occurrence
// and NaN rules, empty-input errors, integer and 16-bit inputs, and float64 gradchecks (ties included).
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
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

class ReduceMinMaxTest : public test::DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  Tensor leaf(const Shape& s) {
    Tensor t = randn(s, opts(kFloat64), &gen_);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{21};
};

TEST_P(ReduceMinMaxTest, AllAndAlongDimMatchReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = rnd({4, 5, 6}, dt);
    expect_reduced(max(x), {}, reduce_ref(x, {}, test::ref_max));
    expect_reduced(min(x), {}, reduce_ref(x, {}, test::ref_min));
    expect_reduced(argmax(x), {}, reduce_ref(x, {}, test::ref_argmax));
    expect_reduced(argmin(x), {}, reduce_ref(x, {}, test::ref_argmin));
    EXPECT_EQ(argmax(x).dtype(), kInt64);
    for (int64_t d : {0, 1, 2, -1})
      for (bool keep : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dt << " dim " << d << " keepdim " << keep);
        Shape shape = reduced_shape(x.sizes(), {d}, keep);
        auto [mv, mi] = max(x, d, keep);
        auto [nv, ni] = min(x, d, keep);
        EXPECT_EQ(mi.dtype(), kInt64);
        expect_reduced(mv, shape, reduce_ref(x, {d}, test::ref_max));
        expect_reduced(mi, shape, reduce_ref(x, {d}, test::ref_argmax));
        expect_reduced(nv, shape, reduce_ref(x, {d}, test::ref_min));
        expect_reduced(ni, shape, reduce_ref(x, {d}, test::ref_argmin));
        expect_reduced(argmax(x, d, keep), shape, reduce_ref(x, {d}, test::ref_argmax));
        expect_reduced(argmin(x, d, keep), shape, reduce_ref(x, {d}, test::ref_argmin));
      }
    for (const Shape& dims : std::vector<Shape>{{}, {0}, {1, 2}, {0, -1}})
      for (bool keep : {false, true}) {
        expect_reduced(amax(x, dims, keep), reduced_shape(x.sizes(), dims, keep), reduce_ref(x, dims, test::ref_max));
        expect_reduced(amin(x, dims, keep), reduced_shape(x.sizes(), dims, keep), reduce_ref(x, dims, test::ref_min));
      }
  }
}

TEST_P(ReduceMinMaxTest, StridedLargeAndColumnInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor base = rnd({40, 50, 30});
  Tensor t = base.permute({2, 0, 1}).slice(1, 3, 40, 2);
  expect_reduced(argmax(t), {}, reduce_ref(t, {}, test::ref_argmax));  // flat index of the strided view
  expect_reduced(argmin(t, 1), reduced_shape(t.sizes(), {1}, false), reduce_ref(t, {1}, test::ref_argmin));
  expect_reduced(amax(t, {0, 2}), reduced_shape(t.sizes(), {0, 2}, false), reduce_ref(t, {0, 2}, test::ref_max));
  Tensor big = rnd({2 * 1000 * 1000 + 3});
  expect_reduced(argmax(big), {}, reduce_ref(big, {}, test::ref_argmax));
  expect_reduced(min(big), {}, reduce_ref(big, {}, test::ref_min));
  Tensor cols = rnd({3000, 70});
  expect_reduced(std::get<1>(max(cols, 0)), {70}, reduce_ref(cols, {0}, test::ref_argmax));
}

TEST_P(ReduceMinMaxTest, FirstOccurrenceAndNaN) {
  KILN_SKIP_IF_NO_DEVICE();
  // Ties resolve to the first index, at every length (lane-split loops must not reorder them).
  for (int64_t n : {5, 17, 100, 5000, 70000}) {
    Tensor x = zeros({n}, opts());
    EXPECT_EQ(argmax(x).item<int64_t>(), 0) << n;
    EXPECT_EQ(argmin(x).item<int64_t>(), 0) << n;
    Tensor y = full({2, n}, -INFINITY, opts());
    EXPECT_EQ(argmax(y).item<int64_t>(), 0) << n;  // lowest value is still a real element
    test::expect_values(argmax(y, 1), {0, 0});
  }
  Tensor x = tensor(std::vector<float>{1, 7, 7, NAN, 2, NAN, 7, 0}, {8}, opts());
  EXPECT_TRUE(std::isnan(max(x).item<float>()));
  EXPECT_TRUE(std::isnan(min(x).item<float>()));
  EXPECT_EQ(argmax(x).item<int64_t>(), 3);  // the first NaN
  EXPECT_EQ(argmin(x).item<int64_t>(), 3);
  Tensor m = tensor(std::vector<float>{3, 9, 9, 1, 1, 2}, {2, 3}, opts());
  test::expect_values(argmax(m, 1), {1, 2});
  test::expect_values(argmin(m, 1), {0, 0});
  Tensor inf = tensor(std::vector<float>{-INFINITY, INFINITY, 1}, {3}, opts());
  EXPECT_EQ(max(inf).item<float>(), INFINITY);
  EXPECT_EQ(min(inf).item<float>(), -INFINITY);
}

TEST_P(ReduceMinMaxTest, IntegerBoolHalfAndZeroDim) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = tensor(std::vector<int64_t>{5, -9, 12, 12, 0, -9}, {2, 3}, opts(kInt64));
  EXPECT_EQ(max(i).dtype(), kInt64);
  EXPECT_EQ(max(i).item<int64_t>(), 12);
  EXPECT_EQ(min(i).item<int64_t>(), -9);
  EXPECT_EQ(argmax(i).item<int64_t>(), 2);
  test::expect_values(amin(i, {0}), {5, -9, -9});
  Tensor u = tensor(std::vector<uint8_t>{3, 250, 7}, {3}, opts(kUInt8));
  EXPECT_EQ(max(u).item<int64_t>(), 250);
  Tensor b = tensor(std::vector<bool>{false, true, true}, {3}, opts(kBool));
  EXPECT_TRUE(max(b).item<bool>());
  EXPECT_EQ(argmax(b).item<int64_t>(), 1);
  for (DType dt : {kFloat16, kBFloat16}) {
    Tensor x = rnd({6, 40}).to(dt);
    expect_reduced(amax(x, {1}), {6}, reduce_ref(x, {1}, test::ref_max), 0, 0);  // exact: a selected element
    expect_reduced(std::get<1>(min(x, 0)), {40}, reduce_ref(x, {0}, test::ref_argmin), 0, 0);
  }
  Tensor s = scalar_tensor(4.0, opts());
  EXPECT_EQ(max(s).item<float>(), 4.0f);
  EXPECT_EQ(argmax(s).item<int64_t>(), 0);
  auto [v, idx] = max(s, 0);
  EXPECT_EQ(v.dim(), 0);
  EXPECT_EQ(idx.item<int64_t>(), 0);
}

TEST_P(ReduceMinMaxTest, EmptyInputsThrowIndexError) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor e = zeros({0, 4}, opts());
  try {
    max(e);
    FAIL() << "expected IndexError";
  } catch (const IndexError& err) {
    EXPECT_NE(std::string(err.what()).find("empty"), std::string::npos) << err.what();
  }
  EXPECT_THROW(min(e), IndexError);
  EXPECT_THROW(argmax(e), IndexError);
  EXPECT_THROW(max(e, 0), IndexError);
  EXPECT_THROW(amax(e, {0}), IndexError);
  EXPECT_THROW(argmin(e, 0), IndexError);
  // Reducing a non-empty dim of an empty tensor is fine: the result is empty.
  auto [v, i] = max(e, 1);
  EXPECT_EQ(v.sizes(), Shape({0}));
  EXPECT_EQ(i.sizes(), Shape({0}));
  EXPECT_EQ(amin(e, {1}, true).sizes(), Shape({0, 1}));
  EXPECT_THROW(max(rnd({2, 3}), 2), IndexError);
}

TEST_P(ReduceMinMaxTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return max(x[0]); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return min(x[0]); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(max(x[0], 1)); }, {leaf({3, 4, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(min(x[0], 0, true)); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return amax(x[0], {0, 2}); }, {leaf({3, 4, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return amin(x[0], {-1}, true); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(max(x[0].t(), 1)); }, {leaf({3, 4})}));
}

TEST_P(ReduceMinMaxTest, TiesShareTheGradient) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 5, 5, 2, 5, 0}, {2, 3}, opts(kFloat64));
  x.requires_grad_(true);
  max(x).backward();  // three maxima share the gradient evenly, as torch's amax
  test::expect_values(x.grad(), {0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3, 0});
  Tensor y = tensor(std::vector<double>{1, 5, 5, 2, 5, 0}, {2, 3}, opts(kFloat64));
  y.requires_grad_(true);
  std::get<0>(max(y, 1)).sum().backward();  // along a dim: all to the selected (first) index
  test::expect_values(y.grad(), {0, 1, 0, 0, 1, 0});
  Tensor z = tensor(std::vector<double>{1, 5, 5, 2, 5, 0}, {2, 3}, opts(kFloat64));
  z.requires_grad_(true);
  amax(z, {1}).sum().backward();
  test::expect_values(z.grad(), {0, 0.5, 0.5, 0, 1, 0});
}

INSTANTIATE_DEVICE_TESTS(ReduceMinMaxTest);
}  // namespace
}  // namespace kiln
