// Tests of add/sub/rsub/mul/div/pow/remainder/maximum/minimum: float64 host references over broadcast,
// strided, empty, 0-dim, Scalar, integer, 16-bit and NaN inputs, plus the error cases.
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "ops/kernel_wrappers.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_ref;
using test::ref_binary;
using test::ref_unary;

class PointwiseBinaryTest : public test::PointwiseTest {};

double py_mod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((b < 0) != (m < 0))) m += b;
  return m;
}
double nan_max(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double nan_min(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }

TEST_P(PointwiseBinaryTest, ArithmeticMatchesReferenceWithBroadcasting) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64})
    for (auto& [sa, sb] : test::binary_shapes()) {
      SCOPED_TRACE(::testing::Message() << dt << " " << shape_to_string(sa) << " op " << shape_to_string(sb));
      Tensor a = rnd(sa, dt), b = rnd(sb, dt);
      Tensor pa = uni(sa, 0.5, 2.0, dt), pb = uni(sb, -2.0, 2.0, dt);  // pow needs a positive base
      double r = test::rtol_for(dt);
      Shape s;
      auto ref = [&](const Tensor& x, const Tensor& y, std::function<double(double, double)> f) {
        return ref_binary(x, y, f, &s);
      };
      auto e = ref(a, b, [](double x, double y) { return x + y; });
      expect_ref(add(a, b), s, e, r);
      expect_ref(a + b, s, e, r);
      expect_ref(add(a, b, 2.5), s, ref(a, b, [](double x, double y) { return x + 2.5 * y; }), r);
      expect_ref(sub(a, b), s, ref(a, b, [](double x, double y) { return x - y; }), r);
      expect_ref(sub(a, b, -3), s, ref(a, b, [](double x, double y) { return x + 3 * y; }), r);
      expect_ref(a * b, s, ref(a, b, [](double x, double y) { return x * y; }), r);
      expect_ref(a / b, s, ref(a, b, [](double x, double y) { return x / y; }), r, 1e-5);
      expect_ref(pow(pa, pb), s, ref(pa, pb, [](double x, double y) { return std::pow(x, y); }), 4 * r);
      expect_ref(remainder(a, b), s, ref(a, b, py_mod), r, 1e-5);
      expect_ref(maximum(a, b), s, ref(a, b, nan_max), 0);
      expect_ref(minimum(a, b), s, ref(a, b, nan_min), 0);
      EXPECT_EQ(add(a, b).dtype(), dt);
      EXPECT_EQ(add(a, b).device(), dev());
    }
}

TEST_P(PointwiseBinaryTest, ScalarForms) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({4, 5}), p = uni({4, 5}, 0.5, 3.0);
  Shape s = a.sizes();
  expect_ref(add(a, 2.5), s, ref_unary(a, [](double x) { return x + 2.5; }));
  expect_ref(a + 2.5, s, ref_unary(a, [](double x) { return x + 2.5; }));
  expect_ref(2.5 + a, s, ref_unary(a, [](double x) { return x + 2.5; }));
  expect_ref(sub(a, 1.5), s, ref_unary(a, [](double x) { return x - 1.5; }));
  expect_ref(rsub(a, 1.5), s, ref_unary(a, [](double x) { return 1.5 - x; }));
  expect_ref(1.5 - a, s, ref_unary(a, [](double x) { return 1.5 - x; }));
  expect_ref(mul(a, -3), s, ref_unary(a, [](double x) { return -3 * x; }));
  expect_ref(div(a, 4.0), s, ref_unary(a, [](double x) { return x / 4; }));
  expect_ref(2.0 / p, s, ref_unary(p, [](double x) { return 2 / x; }), 1e-6);
  expect_ref(pow(p, 2), s, ref_unary(p, [](double x) { return x * x; }));
  expect_ref(pow(p, 0.5), s, ref_unary(p, [](double x) { return std::sqrt(x); }));
  expect_ref(pow(p, -1.5), s, ref_unary(p, [](double x) { return std::pow(x, -1.5); }), 1e-5);
  expect_ref(pow(2.0, a), s, ref_unary(a, [](double x) { return std::pow(2.0, x); }), 1e-5);
  expect_ref(remainder(a, 0.75), s, ref_unary(a, [](double x) { return py_mod(x, 0.75); }), 1e-5);
  expect_ref(remainder(a, -0.75), s, ref_unary(a, [](double x) { return py_mod(x, -0.75); }), 1e-5);
  // Scalars never widen a float tensor.
  EXPECT_EQ((a * 2.5).dtype(), kFloat32);
  EXPECT_EQ((a.to(kFloat16) * 2.5).dtype(), kFloat16);
}

TEST_P(PointwiseBinaryTest, NonContiguousInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor base = rnd({6, 8});
  Tensor t = base.t();                          // [8, 6], transposed
  Tensor st = rnd({8, 12}).slice(1, 0, 12, 2);  // [8, 6], step 2
  Tensor ex = rnd({8, 1}).expand({8, 6});       // stride 0
  Shape s;
  expect_ref(add(t, st), {8, 6},
             ref_binary(
                 t, st, [](double x, double y) { return x + y; }, &s));
  expect_ref(mul(st, ex), {8, 6},
             ref_binary(
                 st, ex, [](double x, double y) { return x * y; }, &s));
  expect_ref(maximum(t, ex), {8, 6}, ref_binary(t, ex, nan_max, &s));
  expect_ref(sub(t, 1.0), {8, 6}, ref_unary(t, [](double x) { return x - 1; }));
  // Rows of >= 16 elements take the CPU's row-dense loop: a unit-stride bias, a per-row constant, both.
  Tensor x = rnd({5, 40}), bias = rnd({40}), col = rnd({5, 1});
  expect_ref(add(x, bias), {5, 40}, ref_binary(x, bias, [](double u, double v) { return u + v; }, &s));
  expect_ref(sub(x, col), {5, 40}, ref_binary(x, col, [](double u, double v) { return u - v; }, &s));
  expect_ref(mul(col, bias), {5, 40}, ref_binary(col, bias, [](double u, double v) { return u * v; }, &s));
  Tensor w = where(gt(col, 0.0), x, bias);  // three operands: cond constant per row, bias unit-stride
  auto wv = w.to_vector<double>(), xv = x.to_vector<double>(), bv = bias.to_vector<double>(), cv = col.to_vector<double>();
  for (int r = 0; r < 5; ++r)
    for (int k = 0; k < 40; ++k) EXPECT_EQ(wv[r * 40 + k], cv[r] > 0 ? xv[r * 40 + k] : bv[k]) << r << "," << k;
}

TEST_P(PointwiseBinaryTest, EmptyAndZeroDim) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor e = rnd({0, 3}), v = rnd({3});
  EXPECT_EQ(add(e, v).sizes(), (Shape{0, 3}));
  EXPECT_EQ(mul(e, 2).sizes(), (Shape{0, 3}));
  EXPECT_EQ(pow(e, v).numel(), 0);
  Tensor z = scalar_tensor(3.0, opts()), w = scalar_tensor(4.0, opts());
  Tensor r = mul(z, w);
  EXPECT_EQ(r.dim(), 0);
  EXPECT_DOUBLE_EQ(r.item<double>(), 12.0);
}

TEST_P(PointwiseBinaryTest, SixteenBitInputsComputeInFloat) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat16, kBFloat16}) {
    SCOPED_TRACE(::testing::Message() << dt);
    Tensor a = rnd({5, 7}, dt), b = uni({5, 7}, 0.5, 2, dt);
    // The reference uses the exact 16-bit values as float64; one rounding of the result is allowed.
    Shape s;
    double r = test::rtol_for(dt);
    Tensor sum = add(a, b, 0.5), q = div(a, b), m = a * 3;
    EXPECT_EQ(sum.dtype(), dt);
    EXPECT_EQ(q.dtype(), dt);
    expect_ref(sum, {5, 7},
               ref_binary(
                   a, b, [](double x, double y) { return x + 0.5 * y; }, &s),
               r, 1e-3);
    expect_ref(q, {5, 7},
               ref_binary(
                   a, b, [](double x, double y) { return x / y; }, &s),
               r, 1e-3);
    expect_ref(m, {5, 7}, ref_unary(a, [](double x) { return 3 * x; }), r, 1e-3);
    expect_ref(maximum(a, b), {5, 7}, ref_binary(a, b, nan_max, &s), 0);
  }
  // f16 with bf16 meets in float32, as torch.promote_types.
  EXPECT_EQ(add(rnd({2}, kFloat16), rnd({2}, kBFloat16)).dtype(), kFloat32);
}

TEST_P(PointwiseBinaryTest, IntegerArithmetic) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals({7, -7, 7, -7, 0, 5}, kInt64), b = vals({2, 2, -2, -2, 3, 1}, kInt64);
  Tensor s = add(a, b, 3);
  EXPECT_EQ(s.dtype(), kInt64);
  test::expect_values(s, {13, -1, 1, -13, 9, 8});
  test::expect_values(sub(a, b), {5, -9, 9, -5, -3, 4});
  test::expect_values(mul(a, b), {14, -14, -14, 14, 0, 5});
  // Integer division is true division in float32.
  Tensor q = div(a, b);
  EXPECT_EQ(q.dtype(), kFloat32);
  test::expect_values(q, {3.5, -3.5, -3.5, 3.5, 0, 5});
  // Python's %: the sign of the divisor.
  test::expect_values(remainder(a, b), {1, 1, -1, -1, 0, 0});
  test::expect_values(remainder(a, 3), {1, 2, 1, 2, 0, 2});
  test::expect_values(remainder(a, -3), {-2, -1, -2, -1, 0, -1});
  test::expect_values(pow(vals({2, -3, 5, 1, -1, 0}, kInt64), vals({10, 3, 0, -2, -3, 2}, kInt64)),
                      {1024, -27, 1, 1, -1, 0});
  EXPECT_EQ(pow(a, 2).dtype(), kInt64);
  EXPECT_EQ(pow(a, 0.5).dtype(), kFloat32);
  test::expect_values(maximum(a, b), {7, 2, 7, -2, 3, 5});
  test::expect_values(minimum(a, b), {2, -7, -2, -7, 0, 1});
  // int32 and uint8 stay in their dtype; uint8 wraps like torch.
  Tensor u = vals({250, 3}, kUInt8);
  EXPECT_EQ(add(u, 10).dtype(), kUInt8);
  test::expect_values(add(u, 10), {4, 13});
  test::expect_values(sub(vals({1, 2}, kInt32), vals({3, 1}, kInt32)), {-2, 1});
  // Division of integers by zero is float division: inf and nan, never a crash.
  Tensor dz = div(vals({1, -1, 0}, kInt32), vals({0, 0, 0}, kInt32));
  auto v = dz.to_vector<double>();
  EXPECT_EQ(v[0], INFINITY);
  EXPECT_EQ(v[1], -INFINITY);
  EXPECT_TRUE(std::isnan(v[2]));
  // Bool: add is or, mul is and, like torch.
  Tensor t = vals({1, 1, 0, 0}, kBool), f = vals({1, 0, 1, 0}, kBool);
  EXPECT_EQ(add(t, f).dtype(), kBool);
  test::expect_values(add(t, f), {1, 1, 1, 0});
  test::expect_values(mul(t, f), {1, 0, 0, 0});
  EXPECT_EQ(add(t, 1).dtype(), kInt64);
}

/// Counts binary kernel calls: a check in the front end refuses before any kernel runs, on every device.
struct CountBinaryKernels : ops::KernelWrapper {
  int calls = 0;
  void before(const ops::KernelCall& c) override {
    if (std::string(c.op) == "binary_stub") ++calls;
  }
};

TEST_P(PointwiseBinaryTest, IntegerRemainderByZeroThrowsOnEveryDevice) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals({5, 6}, kInt64);
  EXPECT_THROW(remainder(a, 0), ValueError);
  EXPECT_THROW(remainder(a, vals({0, 0}, kInt32)), ValueError);
  auto counter = std::make_shared<CountBinaryKernels>();
  {
    ops::ScopedKernelWrapper scope(counter);
    try {
      remainder(a, vals({1, 0}, kInt64));
      test::wait_for(dev());  // CUDA raises it at the next host wait, from a device-side check
      FAIL() << "expected ValueError";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("ZeroDivisionError"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("element 1 is zero"), std::string::npos) << e.what();
    }
  }
  // The CPU refuses in the front end, before any kernel runs.
  if (dev().is_cpu()) EXPECT_EQ(counter->calls, 0);
  EXPECT_THROW(  // False divides as 0
      {
        remainder(vals({5}, kInt32), vals({0, 1}, kBool));
        test::wait_for(dev());
      },
      ValueError);
  test::expect_values(remainder(vals({5, -7}, kInt64), vals({3, 3}, kInt64)), {2, 2});
  // Floating remainder by zero is NaN, like fmod.
  EXPECT_TRUE(std::isnan(remainder(vals({1.0}), 0.0).item<double>()));
  EXPECT_TRUE(std::isnan(remainder(vals({1.0}), vals({0.0})).item<double>()));
}

TEST_P(PointwiseBinaryTest, NanAndInfPropagate) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = vals({NAN, 1, NAN, INFINITY, -INFINITY}), b = vals({1, NAN, NAN, 1, 1});
  auto mx = maximum(a, b).to_vector<double>(), mn = minimum(a, b).to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::isnan(mx[i])) << i;
    EXPECT_TRUE(std::isnan(mn[i])) << i;
  }
  EXPECT_EQ(mx[3], INFINITY);
  EXPECT_EQ(mn[4], -INFINITY);
  auto s = add(a, b).to_vector<double>();
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_EQ(s[3], INFINITY);
  EXPECT_TRUE(std::isnan((a * 0).to_vector<double>()[3]));  // inf * 0
}

TEST_P(PointwiseBinaryTest, TypePromotion) {
  KILN_SKIP_IF_NO_DEVICE();
  auto t = [&](DType d, Shape s = {2}) { return zeros(s, opts(d)); };
  auto z = [&](DType d) { return zeros({}, opts(d)); };
  EXPECT_EQ(result_type(t(kInt32), t(kInt64)), kInt64);
  EXPECT_EQ(result_type(t(kUInt8), t(kInt32)), kInt32);
  EXPECT_EQ(result_type(t(kInt64), t(kFloat16)), kFloat16);
  EXPECT_EQ(result_type(t(kFloat16), t(kBFloat16)), kFloat32);
  // 0-dim tensors count only when they raise the category.
  EXPECT_EQ(result_type(t(kInt32), z(kInt64)), kInt32);
  EXPECT_EQ(result_type(t(kFloat16), z(kFloat64)), kFloat16);
  EXPECT_EQ(result_type(t(kInt32), z(kFloat64)), kFloat64);
  EXPECT_EQ(result_type(t(kBool), z(kInt32)), kInt32);
  EXPECT_EQ(result_type(z(kInt32), z(kFloat64)), kFloat64);
  // Scalars: a float Scalar is the default float32; an int Scalar never widens an integer tensor.
  EXPECT_EQ(result_type(t(kInt64), Scalar(2.5)), kFloat32);
  EXPECT_EQ(result_type(t(kUInt8), Scalar(300)), kUInt8);
  EXPECT_EQ(result_type(t(kBool), Scalar(1)), kInt64);
  EXPECT_EQ(result_type(t(kBool), Scalar(true)), kBool);
  EXPECT_EQ(result_type(t(kFloat64), Scalar(2.5)), kFloat64);
  EXPECT_EQ(result_type(z(kInt32), Scalar(2.5)), kFloat32);
  EXPECT_EQ(result_type(z(kFloat16), Scalar(2.5)), kFloat16);
  // The ops follow it.
  EXPECT_EQ(add(t(kInt32), t(kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(mul(t(kInt32), 2.5).dtype(), kFloat32);
  EXPECT_EQ(mul(t(kInt32), z(kInt64)).dtype(), kInt32);
  EXPECT_EQ(div(t(kUInt8), 2).dtype(), kFloat32);
  test::expect_values(mul(vals({1, 2, 3}, kInt32), 0.5), {0.5, 1, 1.5});
}

TEST_P(PointwiseBinaryTest, ErrorsNameTheProblem) {
  KILN_SKIP_IF_NO_DEVICE();
  try {
    add(rnd({2, 3}), rnd({4}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4]"), std::string::npos) << m;
  }
  EXPECT_THROW(mul(rnd({3}), rnd({2})), ShapeError);
  Tensor bt = vals({1, 0}, kBool);
  EXPECT_THROW(sub(bt, bt), DTypeError);
  EXPECT_THROW(sub(bt, 1), DTypeError);
  EXPECT_THROW(rsub(bt, 1), DTypeError);
  EXPECT_THROW(add(vals({1, 2}, kInt64), vals({1, 2}, kInt64), 0.5), DTypeError);
  EXPECT_THROW(pow(vals({1, 2}, kInt64), -1), ValueError);
  if (dev().is_cuda()) {
    try {
      add(rnd({2}), randn({2}));
      FAIL() << "expected DeviceError";
    } catch (const DeviceError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("cpu"), std::string::npos) << m;
      EXPECT_NE(m.find("cuda"), std::string::npos) << m;
    }
  }
}

INSTANTIATE_DEVICE_TESTS(PointwiseBinaryTest);
}  // namespace
}  // namespace kiln
