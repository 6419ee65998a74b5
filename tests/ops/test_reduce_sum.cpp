// Tests of sum, sum_to, mean, prod, any and all: float64 host references on random, strided, empty,
// 0-dim, integer and 16-bit inputs, the error cases, and float64 gradchecks.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/core/threads.h"
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

class ReduceSumTest : public test::DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  Tensor leaf(const Shape& s) {
    Tensor t = randn(s, opts(kFloat64), &gen_);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{11};
};

const std::vector<Shape> kDimLists = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {2, 0}, {0, 1, 2}};

TEST_P(ReduceSumTest, SumMeanProdOverDimsMatchReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = rnd({3, 4, 5}, dt);
    for (const Shape& dims : kDimLists)
      for (bool keep : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dt << " dims " << shape_to_string(dims) << " keepdim " << keep);
        Shape shape = reduced_shape(x.sizes(), dims, keep);
        Tensor s = sum(x, dims, keep), m = mean(x, dims, keep);
        EXPECT_EQ(s.dtype(), dt);
        EXPECT_EQ(s.device(), dev());
        expect_reduced(s, shape, reduce_ref(x, dims, test::ref_sum));
        expect_reduced(m, shape, reduce_ref(x, dims, test::ref_mean));
      }
    for (int64_t d : {0, 1, 2, -1})
      for (bool keep : {false, true})
        expect_reduced(prod(x, d, keep), reduced_shape(x.sizes(), {d}, keep), reduce_ref(x, {d}, test::ref_prod));
    expect_reduced(sum(x), {}, reduce_ref(x, {}, test::ref_sum));
    expect_reduced(mean(x), {}, reduce_ref(x, {}, test::ref_mean));
    expect_reduced(prod(x), {}, reduce_ref(x, {}, test::ref_prod), 1e-4);
  }
}

TEST_P(ReduceSumTest, NonContiguousInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor base = rnd({6, 8, 10});
  std::vector<Tensor> views = {base.transpose(0, 2), base.slice(1, 1, 8, 3), base.permute({1, 2, 0}).slice(2, 0, 6, 2),
                               base.select(1, 3), rnd({4, 1, 5}).expand({4, 7, 5})};
  for (const Tensor& v : views)
    for (const Shape& dims : std::vector<Shape>{{}, {0}, {1}, {-1}, {0, 1}}) {
      if (static_cast<int64_t>(dims.size()) > v.dim()) continue;
      SCOPED_TRACE(::testing::Message() << "view " << v.shape_str() << " dims " << shape_to_string(dims));
      expect_reduced(sum(v, dims), reduced_shape(v.sizes(), dims, false), reduce_ref(v, dims, test::ref_sum), 1e-5, 1e-5);
      expect_reduced(mean(v, dims, true), reduced_shape(v.sizes(), dims, true), reduce_ref(v, dims, test::ref_mean));
    }
}

// Long float32 sums: a balanced tree of partials keeps PyTorch's accuracy (1e7 * 0.1f is 999999.44 in
// PyTorch; a running float32 total drifted to 1000023.4), and the result does not depend on the thread count.
TEST_P(ReduceSumTest, LongFloat32SumsAreAccurateAndIndependentOfThreads) {
  KILN_SKIP_IF_NO_DEVICE();
  const double exact = 1e7 * static_cast<double>(0.1f);
  Tensor big = full({10000000}, 0.1, opts());
  const double s = big.sum().item<double>();
  EXPECT_NEAR(s, exact, 1.0) << s;
  EXPECT_NEAR(big.mean().item<double>(), exact / 1e7, 1e-7);
  Tensor cols = full({100000, 3}, 0.1, opts());  // the column loop
  for (double v : sum(cols, {0}).to_vector<double>()) EXPECT_NEAR(v, 1e5 * static_cast<double>(0.1f), 0.05);
  if (dev().is_cpu()) {
    Tensor r = rand({3000001}, opts());
    Tensor c = rand({70000, 5}, opts());
    const int before = get_num_threads();
    std::vector<double> sums;
    std::vector<std::vector<double>> col_sums;
    for (int threads : {1, 2, 3, 8}) {
      set_num_threads(threads);
      sums.push_back(r.sum().item<double>());
      col_sums.push_back(sum(c, {0}).to_vector<double>());
    }
    set_num_threads(before);
    for (size_t i = 1; i < sums.size(); ++i) {
      EXPECT_EQ(sums[i], sums[0]) << "threads differ";
      EXPECT_EQ(col_sums[i], col_sums[0]) << "threads differ";
    }
  }
}

TEST_P(ReduceSumTest, LargeAndColumnReductions) {
  KILN_SKIP_IF_NO_DEVICE();
  // A full reduction large enough to be split across threads / blocks.
  Tensor big = rnd({3 * 1000 * 1000 + 17});
  expect_reduced(sum(big), {}, reduce_ref(big, {}, test::ref_sum), 1e-5, 2e-2);
  expect_reduced(mean(big), {}, reduce_ref(big, {}, test::ref_mean), 1e-5, 1e-7);
  // Reducing the outer dim: rows adjacent in memory (the column loops), and a few wide rows.
  Tensor cols = rnd({2000, 70});
  expect_reduced(sum(cols, {0}), {70}, reduce_ref(cols, {0}, test::ref_sum), 1e-5, 1e-4);
  Tensor tall = rnd({70000, 3});
  expect_reduced(sum(tall, {0}), {3}, reduce_ref(tall, {0}, test::ref_sum), 1e-5, 1e-3);
  Tensor wide = rnd({2, 200000});
  expect_reduced(sum(wide, {1}), {2}, reduce_ref(wide, {1}, test::ref_sum), 1e-5, 1e-3);
  // Middle dim of a 3-d tensor: neither innermost nor outermost.
  Tensor mid = rnd({5, 300, 33});
  expect_reduced(sum(mid, {1}), {5, 33}, reduce_ref(mid, {1}, test::ref_sum), 1e-5, 1e-4);
}

TEST_P(ReduceSumTest, IntegerBoolAndHalfInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = tensor(std::vector<int32_t>{1, -2, 3, 4, 5, 6}, {2, 3}, opts(kInt32));
  EXPECT_EQ(sum(i).dtype(), kInt64);
  EXPECT_EQ(sum(i).item<int64_t>(), 17);
  test::expect_values(sum(i, {0}), {5, 3, 9});
  EXPECT_EQ(prod(i).dtype(), kInt64);
  EXPECT_EQ(prod(i).item<int64_t>(), -720);
  test::expect_values(prod(i, 1), {-6, 120});
  Tensor b = tensor(std::vector<bool>{true, false, true, true}, {4}, opts(kBool));
  EXPECT_EQ(sum(b).dtype(), kInt64);
  EXPECT_EQ(sum(b).item<int64_t>(), 3);
  Tensor u = full({300}, 200, opts(kUInt8));
  EXPECT_EQ(sum(u).item<int64_t>(), 60000);  // no uint8 overflow: int64 accumulation
  for (DType dt : {kFloat16, kBFloat16}) {
    Tensor x = rnd({7, 300}).to(dt);
    EXPECT_EQ(sum(x).dtype(), dt);
    EXPECT_EQ(mean(x, {1}).dtype(), dt);
    expect_reduced(sum(x, {1}), {7}, reduce_ref(x, {1}, test::ref_sum), 1e-2, 0.15);
    expect_reduced(mean(x, {0}), {300}, reduce_ref(x, {0}, test::ref_mean), 1e-2, 1e-2);
  }
  // f16 accumulates in float: 4096 ones sum exactly although 2048 + 1 is not a half.
  EXPECT_EQ(sum(ones({4096}, opts(kFloat16))).item<float>(), 4096.0f);
}

TEST_P(ReduceSumTest, EmptyZeroDimAndSpecialValues) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor e = zeros({0, 3}, opts());
  EXPECT_EQ(sum(e).item<float>(), 0.0f);
  EXPECT_TRUE(std::isnan(mean(e).item<float>()));
  EXPECT_EQ(prod(e).item<float>(), 1.0f);
  test::expect_values(sum(e, {0}), {0, 0, 0});
  EXPECT_EQ(sum(e, {1}).sizes(), Shape({0}));
  test::expect_values(prod(e, 0), {1, 1, 1});
  EXPECT_FALSE(any(e).item<bool>());
  EXPECT_TRUE(all(e).item<bool>());

  Tensor s = scalar_tensor(2.5, opts(kFloat64));
  EXPECT_EQ(sum(s).dim(), 0);
  EXPECT_EQ(sum(s).item<double>(), 2.5);
  EXPECT_EQ(sum(s, {0}).item<double>(), 2.5);
  EXPECT_EQ(mean(s, {-1}, true).dim(), 0);
  EXPECT_EQ(prod(s, 0).item<double>(), 2.5);

  Tensor sp = tensor(std::vector<float>{1.0f, INFINITY, 2.0f, NAN, -INFINITY, INFINITY}, {2, 3}, opts());
  Tensor r = sum(sp, {1});
  EXPECT_EQ(r.to_vector<float>()[0], INFINITY);
  EXPECT_TRUE(std::isnan(r.to_vector<float>()[1]));  // nan and inf - inf
}

TEST_P(ReduceSumTest, AnyAll) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<float>{0, 0, 1, 0, 2, 3, 0, 0, NAN}, {3, 3}, opts());
  EXPECT_EQ(any(x).dtype(), kBool);
  EXPECT_TRUE(any(x).item<bool>());
  EXPECT_FALSE(all(x).item<bool>());
  test::expect_values(any(x, 1), {1, 1, 1});  // NaN counts as true
  test::expect_values(all(x, 0), {0, 0, 1});
  test::expect_values(any(x, 0, true), {0, 1, 1});
  EXPECT_EQ(any(x, 0, true).sizes(), Shape({1, 3}));
  Tensor b = tensor(std::vector<bool>{true, true, false, true}, {2, 2}, opts(kBool));
  test::expect_values(all(b, 1), {1, 0});
  test::expect_values(any(tensor(std::vector<int64_t>{0, 0, 5}, {3}, opts(kInt64)), 0), {1});
}

TEST_P(ReduceSumTest, SumToReducesBroadcastDims) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({4, 3, 5});
  EXPECT_TRUE(sum_to(x, {4, 3, 5}).is_same(x));  // nothing broadcast: the same tensor back
  expect_reduced(sum_to(x, {3, 5}), {3, 5}, reduce_ref(x, {0}, test::ref_sum));
  expect_reduced(sum_to(x, {3, 1}), {3, 1}, reduce_ref(x, {0, 2}, test::ref_sum));
  expect_reduced(sum_to(x, {1, 3, 1}), {1, 3, 1}, reduce_ref(x, {0, 2}, test::ref_sum));
  expect_reduced(sum_to(x, {}), {}, reduce_ref(x, {}, test::ref_sum));
  expect_reduced(sum_to(x, {4, 1, 5}), {4, 1, 5}, reduce_ref(x, {1}, test::ref_sum));
  try {
    sum_to(x, {2, 5});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& err) {
    std::string msg = err.what();
    EXPECT_NE(msg.find("[4, 3, 5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 5]"), std::string::npos) << msg;
  }
  EXPECT_THROW(sum_to(x, {1, 4, 3, 5, 2}), ShapeError);
}

TEST_P(ReduceSumTest, ErrorsNameTheProblem) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 3});
  EXPECT_THROW(sum(x, {2}), IndexError);
  EXPECT_THROW(sum(x, {-3}), IndexError);
  EXPECT_THROW(prod(x, 5), IndexError);
  try {
    sum(x, {1, -1});
    FAIL() << "expected ValueError";
  } catch (const ValueError& err) {
    EXPECT_NE(std::string(err.what()).find("multiple times"), std::string::npos) << err.what();
  }
  Tensor i = tensor(std::vector<int64_t>{1, 2, 3}, {3}, opts(kInt64));
  try {
    mean(i);
    FAIL() << "expected DTypeError";
  } catch (const DTypeError& err) {
    EXPECT_NE(std::string(err.what()).find("floating"), std::string::npos) << err.what();
  }
  EXPECT_THROW(mean(i, {0}), DTypeError);
}

TEST_P(ReduceSumTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return sum(x[0]); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return sum(x[0], {0, 2}); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return sum(x[0], {-1}, true); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return sum(x[0].transpose(0, 1), {1}); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return sum_to(x[0], {3, 1}); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return mean(x[0]); }, {leaf({3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return mean(x[0], {1}, true); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return prod(x[0]); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return prod(x[0], 1); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return prod(x[0], 0, true); }, {leaf({3, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return sum(x[0]); }, {leaf({})}));
}

TEST_P(ReduceSumTest, DoubleBackward) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return mul(sum(x, {1}), sum(x, {0}, true)); }, leaf({3, 3})));
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return mul(mean(x, {0}), mean(x)); }, leaf({3, 4})));
  EXPECT_TRUE(test::gradgradcheck([](const Tensor& x) { return prod(x, 1); }, leaf({3, 4})));
}

TEST_P(ReduceSumTest, ProdGradientWithZeros) {
  KILN_SKIP_IF_NO_DEVICE();
  // One zero: only that element gets the product of the others. Two zeros: no gradient at all.
  Tensor x = tensor(std::vector<double>{2, 0, 3, 0, 0, 5, 1, 4, 2}, {3, 3}, opts(kFloat64));
  x.requires_grad_(true);
  prod(x, 1).sum().backward();
  test::expect_values(x.grad(), {0, 6, 0, 0, 0, 0, 8, 2, 4});
  Tensor y = tensor(std::vector<double>{2, 0, 3}, {3}, opts(kFloat64));
  y.requires_grad_(true);
  prod(y).backward();
  test::expect_values(y.grad(), {0, 6, 0});
  // Finite differences agree where the function is smooth enough (a single zero).
  Tensor z = tensor(std::vector<double>{1.5, 0, -2, 0.5}, {2, 2}, opts(kFloat64));
  z.requires_grad_(true);
  EXPECT_TRUE(gradcheck([](const TensorList& t) { return prod(t[0], 1); }, {z}));
}

INSTANTIATE_DEVICE_TESTS(ReduceSumTest);
}  // namespace
}  // namespace kiln
