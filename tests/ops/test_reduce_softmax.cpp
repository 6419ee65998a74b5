// Tests of softmax and log_softmax: float64 references along every dim, stability with large inputs,
// inf/NaN rows, 16-bit inputs, the fused backward against gradcheck, and double backward.
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

class ReduceSoftmaxTest : public test::DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  Tensor leaf(const Shape& s) {
    Tensor t = randn(s, opts(kFloat64), &gen_);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{41};
};

// Reference softmax along dim of x (float64, row-major result).
std::vector<double> ref_softmax(const Tensor& x, int64_t dim, bool log) {
  std::vector<double> v = x.to_vector<double>();
  int64_t nd = x.dim();
  dim = dim < 0 ? dim + nd : dim;
  int64_t outer = 1, K = x.size(dim), inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  for (int64_t d = dim + 1; d < nd; ++d) inner *= x.size(d);
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < K; ++k) m = std::max(m, v[(o * K + k) * inner + i]);
      for (int64_t k = 0; k < K; ++k) s += std::exp(v[(o * K + k) * inner + i] - m);
      for (int64_t k = 0; k < K; ++k) {
        double e = v[(o * K + k) * inner + i];
        out[(o * K + k) * inner + i] = log ? e - m - std::log(s) : std::exp(e - m) / s;
      }
    }
  return out;
}

TEST_P(ReduceSoftmaxTest, MatchesReferenceAlongEveryDim) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = rnd({3, 4, 70}, dt);
    for (int64_t d : {0, 1, 2, -1, -3})
      for (bool log : {false, true}) {
        SCOPED_TRACE(::testing::Message() << dt << " dim " << d << " log " << log);
        Tensor y = log ? log_softmax(x, d) : softmax(x, d);
        EXPECT_EQ(y.dtype(), dt);
        EXPECT_EQ(y.sizes(), x.sizes());
        test::expect_reduced(y, x.sizes(), ref_softmax(x, d, log), 1e-5, 1e-6);
      }
  }
  // Wide rows (a vocabulary-sized last dim) and a non-contiguous input.
  Tensor w = rnd({3, 30000});
  test::expect_reduced(softmax(w, 1), w.sizes(), ref_softmax(w, 1, false), 1e-4, 1e-9);
  Tensor t = rnd({6, 5}).t();
  test::expect_reduced(log_softmax(t, 1), t.sizes(), ref_softmax(t, 1, true), 1e-5, 1e-6);
  test::expect_close(t.log_softmax(1), log_softmax(t, 1));  // the method spelling
}

TEST_P(ReduceSoftmaxTest, StableForLargeInputsAndSpecialValues) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<float>{1000, 1001, 999, -1000, -1001, -999}, {2, 3}, opts());
  test::expect_reduced(softmax(x, 1), {2, 3}, ref_softmax(x, 1, false), 1e-5, 1e-7);
  test::expect_reduced(log_softmax(x, 1), {2, 3}, ref_softmax(x, 1, true), 1e-5, 1e-5);
  // Large logits: (x - max) - log(sum) keeps the small log(sum); x - (max + log(sum)) rounds it to max's
  // spacing (0.001 near 1e4) and lost three decimals.
  Tensor big = tensor(std::vector<float>{10000.f, 10000.5f, 9999.f}, {3}, opts());
  test::expect_reduced(log_softmax(big, 0), {3}, ref_softmax(big, 0, true), 1e-6, 1e-6);
  float inf = INFINITY;
  Tensor s = tensor(std::vector<float>{-inf, 0, 1, 2, NAN, 3, -inf, -inf, -inf}, {3, 3}, opts());
  auto v = softmax(s, 1).to_vector<float>();
  EXPECT_EQ(v[0], 0.0f);  // exp(-inf) = 0
  EXPECT_NEAR(v[1] + v[2], 1.0f, 1e-6);
  for (int i = 3; i < 9; ++i) EXPECT_TRUE(std::isnan(v[i])) << i;  // a NaN, or nothing finite, poisons the row (as torch)
  auto lv = log_softmax(s, 1).to_vector<float>();
  EXPECT_EQ(lv[0], -inf);
  EXPECT_TRUE(std::isnan(lv[4]));
  // +inf in a row: NaN for the whole row on every device (exp(inf - inf) enters the sum).
  Tensor p = tensor(std::vector<float>{inf, 1, 2}, {3}, opts());
  for (float e : softmax(p, 0).to_vector<float>()) EXPECT_TRUE(std::isnan(e));
  for (float e : log_softmax(p, 0).to_vector<float>()) EXPECT_TRUE(std::isnan(e));
}

TEST_P(ReduceSoftmaxTest, HalfEmptyZeroDimAndErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat16, kBFloat16}) {
    Tensor x = mul(rnd({4, 50}), 3.0).to(dt);
    EXPECT_EQ(softmax(x, 1).dtype(), dt);
    test::expect_reduced(softmax(x, 1), x.sizes(), ref_softmax(x, 1, false), 1e-2, 1e-3);
    test::expect_reduced(log_softmax(x, 0), x.sizes(), ref_softmax(x, 0, true), 1e-2, 2e-2);
  }
  EXPECT_EQ(softmax(zeros({0, 3}, opts()), 1).sizes(), Shape({0, 3}));
  EXPECT_EQ(log_softmax(zeros({2, 0}, opts()), 1).sizes(), Shape({2, 0}));
  Tensor s = scalar_tensor(5.0, opts());
  EXPECT_EQ(softmax(s, 0).item<float>(), 1.0f);
  EXPECT_EQ(log_softmax(s, -1).item<float>(), 0.0f);
  EXPECT_THROW(softmax(rnd({2, 3}), 2), IndexError);
  EXPECT_THROW(softmax(s, 1), IndexError);
  EXPECT_THROW(softmax(tensor(std::vector<int64_t>{1, 2}, {2}, opts(kInt64)), 0), DTypeError);
}

TEST_P(ReduceSoftmaxTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  for (int64_t d : {0, 1, -1}) {
    SCOPED_TRACE(::testing::Message() << "dim " << d);
    EXPECT_TRUE(gradcheck([d](const TensorList& x) { return softmax(x[0], d); }, {leaf({3, 4, 5})}));
    EXPECT_TRUE(gradcheck([d](const TensorList& x) { return log_softmax(x[0], d); }, {leaf({3, 4, 5})}));
  }
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return softmax(x[0].t(), 1); }, {leaf({4, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return log_softmax(x[0], 0); }, {leaf({})}));
}

TEST_P(ReduceSoftmaxTest, DoubleBackward) {
  KILN_SKIP_IF_NO_DEVICE();
  for (int64_t d : {1, 0}) {
    SCOPED_TRACE(::testing::Message() << "dim " << d);
    EXPECT_TRUE(test::gradgradcheck([d](const Tensor& x) { return softmax(x, d); }, leaf({3, 4})));
    EXPECT_TRUE(test::gradgradcheck([d](const Tensor& x) { return log_softmax(x, d); }, leaf({3, 4})));
  }
}

INSTANTIATE_DEVICE_TESTS(ReduceSoftmaxTest);
}  // namespace
}  // namespace kiln
