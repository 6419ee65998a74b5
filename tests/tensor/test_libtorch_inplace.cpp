// In-place methods as libtorch has them: const, so they work on temporaries (x.grad().zero_()); the in-place
// forms of the unary op table (generated rows), abs_, neg_, pow_, clamp_min_/max_: values against the
// out-of-place ops and float64 references, CUDA against the CPU, gradients by finite differences.
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_close;
using test::expect_ref;
using test::ref_unary;

class LibtorchInplaceTest : public test::PointwiseTest {};

TEST_P(LibtorchInplaceTest, InPlaceMethodsWorkOnConstAndTemporaryHandles) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor w = rnd({3});
  w.requires_grad_(true);
  sum(mul(w, w)).backward();
  ASSERT_TRUE(w.grad().defined());
  w.grad().zero_();  // libtorch's idiom: grad() returns a const handle to the shared gradient
  test::expect_values(w.grad(), {0, 0, 0});
  const Tensor c = rnd({2});
  c.fill_(3).mul_(2).add_(1);  // chained on a const handle
  test::expect_values(c, {7, 7});
  zero_(c.view({2}));  // the free function takes a temporary view too; the write lands in c
  test::expect_values(c, {0, 0});
  Tensor x = rnd({4});
  Tensor& ref = x += 1;  // the compound operators still return the handle they were given
  EXPECT_TRUE(ref.is_same(x));
}

struct UnaryRow {
  std::string name;
  std::function<Tensor(const Tensor&)> out_of_place;
  std::function<const Tensor&(const Tensor&)> in_place;
  std::function<double(double)> ref;
  double lo, hi;  // where the op and its finite differences are well behaved
};

std::vector<UnaryRow> unary_rows() {
  std::vector<UnaryRow> rows = {
      {"abs", [](const Tensor& t) { return abs(t); }, [](const Tensor& t) -> const Tensor& { return t.abs_(); },
       [](double v) { return std::fabs(v); }, 0.2, 2},
      {"neg", [](const Tensor& t) { return neg(t); }, [](const Tensor& t) -> const Tensor& { return t.neg_(); },
       [](double v) { return -v; }, -2, 2},
      {"relu", [](const Tensor& t) { return relu(t); }, [](const Tensor& t) -> const Tensor& { return t.relu_(); },
       [](double v) { return v > 0 ? v : 0; }, 0.1, 2},
  };
  // Every row of the unary op table has its in-place form; the references are those of test_table_unary.
  const std::map<std::string, std::pair<std::function<double(double)>, std::pair<double, double>>> refs = {
      {"exp", {[](double v) { return std::exp(v); }, {-2, 2}}},
      {"log", {[](double v) { return std::log(v); }, {0.2, 3}}},
      {"log1p", {[](double v) { return std::log1p(v); }, {-0.5, 3}}},
      {"sqrt", {[](double v) { return std::sqrt(v); }, {0.2, 3}}},
      {"rsqrt", {[](double v) { return 1 / std::sqrt(v); }, {0.2, 3}}},
      {"sin", {[](double v) { return std::sin(v); }, {-3, 3}}},
      {"cos", {[](double v) { return std::cos(v); }, {-3, 3}}},
      {"tanh", {[](double v) { return std::tanh(v); }, {-2, 2}}},
      {"sigmoid", {[](double v) { return 1 / (1 + std::exp(-v)); }, {-3, 3}}},
      {"reciprocal", {[](double v) { return 1 / v; }, {0.3, 3}}},
  };
#define KILN_TEST_INPLACE_ROW(name, ...)                                                                     \
  rows.push_back({#name, [](const Tensor& t) { return kiln::name(t); },                                       \
                  [](const Tensor& t) -> const Tensor& { return t.name##_(); }, refs.at(#name).first,        \
                  refs.at(#name).second.first, refs.at(#name).second.second});
  KILN_FORALL_UNARY_OPS(KILN_TEST_INPLACE_ROW)
#undef KILN_TEST_INPLACE_ROW
  return rows;
}

TEST_P(LibtorchInplaceTest, UnaryInPlaceMatchesOutOfPlaceAndReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const UnaryRow& row : unary_rows()) {
    SCOPED_TRACE(row.name);
    Tensor x = uni({3, 5}, row.lo, row.hi, kFloat64);
    Tensor y = x.clone();
    void* data = y.data_ptr();
    const Tensor& r = row.in_place(y);
    EXPECT_TRUE(r.is_same(y));
    EXPECT_EQ(y.data_ptr(), data);
    expect_ref(y, {3, 5}, ref_unary(x, row.ref), 1e-12, 1e-12);
    for (DType t : {kFloat32, kFloat16, kBFloat16}) {
      Tensor low = x.to(t);
      Tensor expected = row.out_of_place(low);
      row.in_place(low);
      expect_close(low, expected, 0, 0);  // the same kernel: identical bits
    }
    // A strided self (a transposed view) is written where it lives.
    Tensor base = x.clone();
    row.in_place(base.t());
    expect_ref(base, {3, 5}, ref_unary(x, row.ref), 1e-12, 1e-12);
  }
}

TEST_P(LibtorchInplaceTest, UnaryInPlaceGradientsMatchFiniteDifferences) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const UnaryRow& row : unary_rows()) {
    SCOPED_TRACE(row.name);
    Tensor x = leaf({2, 3}, row.lo, row.hi);
    auto fn = [&row](const autograd::TensorList& in) {
      Tensor y = mul(in[0], 1.5);  // a non-leaf to write into
      row.in_place(y);
      return y;
    };
    EXPECT_TRUE(autograd::gradcheck(fn, {x}));
    // The node is the out-of-place op's.
    Tensor y = mul(x, 1.0);
    row.in_place(y);
    ASSERT_TRUE(y.grad_fn() != nullptr);
    EXPECT_EQ(y.grad_fn()->name(), row.out_of_place(x).grad_fn()->name());
  }
}

TEST_P(LibtorchInplaceTest, PowAndClampInPlace) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = uni({4, 3}, 0.5, 2, kFloat64), e = uni({3}, -1, 2, kFloat64);
  Tensor y = x.clone();
  y.pow_(3);
  expect_ref(y, {4, 3}, ref_unary(x, [](double v) { return v * v * v; }), 1e-12);
  y = x.clone();
  y.pow_(e);
  expect_close(y, pow(x, e), 1e-12, 0);
  y = x.clone();
  y.clamp_min_(1.0).clamp_max_(1.5);
  expect_close(y, clamp(x, 1.0, 1.5), 0, 0);
  Tensor a = leaf({4, 3}, 0.5, 2), b = leaf({3}, -1, 2);
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return mul(in[0], 1.0).pow_(2.5); }, {a}));
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::TensorList& in) {
        Tensor s = mul(in[0], 1.0);
        s.pow_(in[1]);
        return s;
      },
      {a, b}));
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::TensorList& in) {
        Tensor s = mul(in[0], 1.0);
        s.pow_(s);  // the exponent is self: read before the write
        return s;
      },
      {a}));
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return mul(in[0], 1.0).clamp_min_(1.0); }, {a}));
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return mul(in[0], 1.0).clamp_max_(1.0); }, {a}));
}

TEST_P(LibtorchInplaceTest, RefusalsFollowPyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = arange(0, 4, 1, TensorOptions(kInt64).device(dev()));
  EXPECT_THROW(i.exp_(), DTypeError);  // an int64 self cannot hold exp's float result
  EXPECT_THROW(i.pow_(-1), Error);
  Tensor leaf_x = rnd({3});
  leaf_x.requires_grad_(true);
  EXPECT_THROW(leaf_x.sin_(), Error);  // a leaf that requires grad cannot be written in place
  Tensor m = gt(rnd({3}), 0);
  EXPECT_THROW(m.neg_(), Error);
  i.abs_();  // integers are fine where the op keeps the dtype
  i.neg_();
  test::expect_values(i, {0, -1, -2, -3});
}

TEST_P(LibtorchInplaceTest, CudaMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "compares the CUDA kernels with the CPU";
  for (const UnaryRow& row : unary_rows()) {
    SCOPED_TRACE(row.name);
    for (DType t : {kFloat32, kFloat64, kFloat16}) {
      Tensor x = uni({33, 17}, row.lo, row.hi, t);
      Tensor g = x.clone(), c = x.cpu();
      row.in_place(g);
      row.in_place(c);
      expect_close(g.cpu().to(kFloat64), c.to(kFloat64), t == kFloat16 ? 2e-3 : 1e-5, 1e-6);
    }
  }
}

INSTANTIATE_DEVICE_TESTS(LibtorchInplaceTest);
}  // namespace
}  // namespace kiln
