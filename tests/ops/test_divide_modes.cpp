// torch.div's rounding modes, floor_divide, fmod and remainder: PyTorch's values on negative operands, integer
// extremes, zeros and infinities (vectors from scripts/division_vectors.py), float64 references on random
// inputs for every dtype, CUDA against the CPU, zero-divisor refusals and gradients.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_close;
using test::expect_ref;

// Made by scripts/division_vectors.py with PyTorch 1.13.
const std::map<std::string, std::vector<int64_t>> kIntCases = {
    {"a", {7, -7, 7, -7, 0, 5, -5, 9223372036854775807, -9223372036854775807, INT64_MIN}},
    {"b", {2, 2, -2, -2, 3, 7, 7, -1, -1, 3}},
    {"trunc", {3, -3, -3, 3, 0, 0, 0, -9223372036854775807, 9223372036854775807, -3074457345618258602}},
    {"floor", {3, -4, -4, 3, 0, 0, -1, -9223372036854775807, 9223372036854775807, -3074457345618258603}},
    {"fmod", {1, -1, 1, -1, 0, 5, -5, 0, 0, -2}},
    {"remainder", {1, 1, -1, -1, 0, 5, 2, 0, 0, 1}},
};
const std::map<std::string, std::vector<double>> kFloatCases = {
    {"a", {7.5, -7.5, 7.5, -7.5, 0, -0.0, 1.0000000000000001e-30, 5, -1, 3}},
    {"b", {2, 2, -2, -2, 3, 2, -7, 0.5, 3, 0}},
    {"trunc", {3, -3, -3, 3, 0, -0.0, -0.0, 10, -0.0, INFINITY}},
    {"floor", {3, -4, -4, 3, 0, -0.0, -1, 10, -1, INFINITY}},
    {"fmod", {1.5, -1.5, 1.5, -1.5, 0, -0.0, 1.0000000000000001e-30, 0, -1, NAN}},
    {"remainder", {1.5, 0.5, -0.5, -1.5, 0, -0.0, -7, 0, 2, NAN}},
};

class DivideModesTest : public test::PointwiseTest {
 protected:
  Tensor ints(const std::vector<int64_t>& v, DType t = kInt64) {
    return tensor(v, {static_cast<int64_t>(v.size())}).to(dev(), t);
  }
};

TEST_P(DivideModesTest, IntegersMatchPyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = ints(kIntCases.at("a")), b = ints(kIntCases.at("b"));
  auto expect = [](const Tensor& t, const std::vector<int64_t>& want) {
    EXPECT_EQ(t.dtype(), kInt64);
    EXPECT_EQ(t.to_vector<int64_t>(), want);
  };
  expect(div(a, b, "trunc"), kIntCases.at("trunc"));
  expect(div(a, b, "floor"), kIntCases.at("floor"));
  expect(a.div(b, "floor"), kIntCases.at("floor"));
  expect(floor_divide(a, b), kIntCases.at("floor"));
  expect(a.floor_divide(b), kIntCases.at("floor"));
  expect(fmod(a, b), kIntCases.at("fmod"));
  expect(a.fmod(b), kIntCases.at("fmod"));
  expect(remainder(a, b), kIntCases.at("remainder"));
  expect(a.remainder(b), kIntCases.at("remainder"));
  // INT64_MIN / -1 overflows: kiln wraps it (PyTorch 1.13 dies of SIGFPE).
  Tensor mn = ints({INT64_MIN}), m1 = ints({-1});
  EXPECT_EQ(div(mn, m1, "trunc").item<int64_t>(), INT64_MIN);
  EXPECT_EQ(div(mn, m1, "floor").item<int64_t>(), INT64_MIN);
  EXPECT_EQ(fmod(mn, m1).item<int64_t>(), 0);
  // Narrower integer dtypes stay narrow; a Scalar divisor keeps the tensor's dtype; INT32_MIN / -1 wraps.
  Tensor a32 = ints({-7, 7, -128, INT32_MIN}, kInt32);
  Tensor q = div(a32, 2, "floor");
  EXPECT_EQ(q.dtype(), kInt32);
  test::expect_values(q, {-4, 3, -64, INT32_MIN / 2});
  EXPECT_EQ(div(a32, -1, "trunc").to_vector<int32_t>(), (std::vector<int32_t>{7, -7, 128, INT32_MIN}));
  test::expect_values(fmod(a32, 3), {-1, 1, -2, -2});
  Tensor u8 = ints({7, 200}, kUInt8);
  test::expect_values(div(u8, 3, "floor"), {2, 66});
}

TEST_P(DivideModesTest, FloatsMatchPyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals(kFloatCases.at("a"), kFloat64), b = vals(kFloatCases.at("b"), kFloat64);
  for (const char* op : {"trunc", "floor", "fmod", "remainder"}) {
    SCOPED_TRACE(op);
    std::string name(op);
    Tensor r = name == "fmod" ? fmod(a, b) : name == "remainder" ? remainder(a, b) : div(a, b, op);
    const std::vector<double>& want = kFloatCases.at(op);
    std::vector<double> got = r.to_vector<double>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << i;
      } else {
        EXPECT_EQ(got[i], want[i]) << i;
        EXPECT_EQ(std::signbit(got[i]), std::signbit(want[i])) << "the sign of zero at " << i;
      }
    }
  }
}

TEST_P(DivideModesTest, RandomInputsMatchTheFloat64Reference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (auto& [sa, sb] : test::binary_shapes()) {
    SCOPED_TRACE(shape_to_string(sa) + " " + shape_to_string(sb));
    Tensor a = uni(sa, -9, 9, kFloat64), b = uni(sb, 0.5, 4, kFloat64);
    b = where(lt(uni(sb, 0, 1, kFloat64), 0.5), neg(b), b);  // both signs of divisor
    Shape s;
    expect_ref(div(a, b, "trunc"), test::ref_broadcast(a.sizes(), b.sizes()),
               test::ref_binary(a, b, [](double u, double v) { return std::trunc(u / v); }, &s), 0, 0);
    expect_ref(div(a, b, "floor"), s, test::ref_binary(a, b, [](double u, double v) { return std::floor(u / v); }), 0, 0);
    expect_ref(fmod(a, b), s, test::ref_binary(a, b, [](double u, double v) { return std::fmod(u, v); }), 0, 0);
    expect_ref(div(a, 2.5, "floor"), a.sizes(), test::ref_unary(a, [](double u) { return std::floor(u / 2.5); }), 0, 0);
    expect_ref(fmod(a, -2.5), a.sizes(), test::ref_unary(a, [](double u) { return std::fmod(u, -2.5); }), 0, 0);
    for (DType t : {kFloat32, kFloat16, kBFloat16, kInt32, kInt64}) {
      Tensor at = a.to(t), bt = b.to(t);
      bt = where(eq(bt, 0), 1, bt);  // integer casts may round a divisor to zero
      EXPECT_EQ(div(at, bt, "floor").dtype(), t);
      // Each dtype computes from its own (rounded) inputs: compare with float64 on those.
      Tensor a64 = at.to(kFloat64), b64 = bt.to(kFloat64);
      expect_close(div(at, bt, "trunc").to(kFloat64), div(a64, b64, "trunc").to(t).to(kFloat64), 0, 0);
      expect_close(div(at, bt, "floor").to(kFloat64), div(a64, b64, "floor").to(t).to(kFloat64), 0, 0);
      expect_close(fmod(at, bt).to(kFloat64), fmod(a64, b64), is_floating_point(t) ? test::rtol_for(t) : 0, 1e-2);
    }
  }
}

TEST_P(DivideModesTest, PromotionAndInPlace) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = ints({-7, 7});
  Tensor f = div(i, 2.0, "floor");  // a floating Scalar promotes to the default float dtype
  EXPECT_EQ(f.dtype(), kFloat32);
  test::expect_values(f, {-4, 3});
  EXPECT_EQ(div(i, vals({2, 2}, kFloat64), "trunc").dtype(), kFloat64);
  EXPECT_EQ(div(i, ints({2, 2}), std::nullopt).dtype(), kFloat32);  // no mode: true division
  Tensor y = ints({-7, 7, 9});
  y.div_(2, "floor");
  EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{-4, 3, 4}));
  y.div_(ints({-1, 2, 3}), "trunc");
  EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{4, 1, 1}));
  EXPECT_THROW(y.div_(2.5, "floor"), DTypeError);  // an int64 self cannot hold a float result
  EXPECT_THROW(div(i, 2, "round"), ValueError);
  EXPECT_THROW(div(gt(i, 0), gt(i, 0), "floor"), Error);  // bool, as torch
}

TEST_P(DivideModesTest, IntegerZeroDivisorsAreRefused) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = ints({1, 2, 3}), z = ints({1, 0, 1});
  EXPECT_THROW({ div(a, z, "floor"); test::wait_for(dev()); }, Error);
  EXPECT_THROW(div(a, 0, "trunc"), Error);
  EXPECT_THROW(fmod(a, 0), Error);
  EXPECT_THROW({ fmod(a, z); test::wait_for(dev()); }, Error);
  // Floating zero divisors give inf and nan, as IEEE and torch.
  Tensor q = div(vals({1, -1, 0}, kFloat64), 0.0, "floor");
  EXPECT_TRUE(std::isinf(q.to_vector<double>()[0]));
  EXPECT_TRUE(std::isnan(q.to_vector<double>()[2]));
}

TEST_P(DivideModesTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = leaf({3, 4}, -5, 5), b = leaf({4}, 1.3, 2.7);
  // fmod(a, b) = a - b * trunc(a / b): gradient 1 for a, -trunc(a / b) for b.
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return fmod(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return fmod(in[0], 1.7); }, {a}));
  // Rounded quotients are piecewise constant: zero gradients (DivBackward2, as torch).
  Tensor q = div(a, b, "floor");
  EXPECT_EQ(q.grad_fn()->name(), "DivBackward2");
  auto g = autograd::grad({sum(q)}, {a, b});
  test::expect_values(g[0], std::vector<double>(12, 0.0));
  test::expect_values(g[1], std::vector<double>(4, 0.0));
}

TEST_P(DivideModesTest, CudaMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "compares the CUDA kernels with the CPU";
  for (DType t : {kFloat32, kFloat64, kFloat16, kBFloat16, kInt64, kInt32}) {
    SCOPED_TRACE(dtype_name(t));
    Tensor a = uni({65, 33}, -100, 100, kFloat64), b = uni({33}, 1, 9, kFloat64);
    b = where(lt(uni({33}, 0, 1, kFloat64), 0.5), neg(b), b);
    a = a.to(t);
    b = b.to(t);
    for (const char* mode : {"trunc", "floor"})
      expect_close(div(a, b, mode).cpu().to(kFloat64), div(a.cpu(), b.cpu(), mode).to(kFloat64), 0, 0);
    expect_close(fmod(a, b).cpu().to(kFloat64), fmod(a.cpu(), b.cpu()).to(kFloat64), 1e-6, 1e-6);
    expect_close(div(a, 3, "floor").cpu().to(kFloat64), div(a.cpu(), 3, "floor").to(kFloat64), 0, 0);
  }
}

INSTANTIATE_DEVICE_TESTS(DivideModesTest);
}  // namespace
}  // namespace kiln
