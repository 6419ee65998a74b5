// The op table's unary ops, each checked the same way: values against a float64 reference in every floating
// dtype, integers computing in float32, CUDA against the CPU, float64 gradcheck (and double backward), the
// Tensor method and the autograd node name. A row without a reference below fails the test.
#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::gradcheck;
using autograd::TensorList;

struct Reference {
  std::function<double(double)> f;
  double lo, hi;  // input range where the op and its finite differences are well behaved
};

const std::map<std::string, Reference>& references() {
  static const std::map<std::string, Reference> refs = {
      {"exp", {[](double x) { return std::exp(x); }, -3, 3}},
      {"log", {[](double x) { return std::log(x); }, 0.1, 4}},
      {"log1p", {[](double x) { return std::log1p(x); }, -0.5, 4}},
      {"sqrt", {[](double x) { return std::sqrt(x); }, 0.1, 4}},
      {"rsqrt", {[](double x) { return 1 / std::sqrt(x); }, 0.1, 4}},
      {"sin", {[](double x) { return std::sin(x); }, -3, 3}},
      {"cos", {[](double x) { return std::cos(x); }, -3, 3}},
      {"tanh", {[](double x) { return std::tanh(x); }, -3, 3}},
      {"sigmoid", {[](double x) { return 1 / (1 + std::exp(-x)); }, -4, 4}},
      {"reciprocal", {[](double x) { return 1 / x; }, 0.2, 3}},
  };
  return refs;
}

struct Row {
  const char* name;
  const char* node;
  Tensor (*fn)(const Tensor&);
  Tensor (Tensor::*method)() const;
};
std::vector<Row> rows() {
  std::vector<Row> r;
#define KILN_TEST_ROW(name, Kernel, autocast, saves, node) r.push_back({#name, #node, &kiln::name, &Tensor::name});
  KILN_FORALL_UNARY_OPS(KILN_TEST_ROW)
#undef KILN_TEST_ROW
  return r;
}

class TableUnaryTest : public test::PointwiseTest {};

TEST_P(TableUnaryTest, ValuesMatchTheFloat64Reference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const Row& row : rows()) {
    SCOPED_TRACE(row.name);
    auto ref = references().find(row.name);
    ASSERT_NE(ref, references().end()) << "no float64 reference for op '" << row.name << "'";
    Tensor x = uni({5, 7}, ref->second.lo, ref->second.hi, kFloat64);
    std::vector<double> want;
    for (double v : x.to_vector<double>()) want.push_back(ref->second.f(v));
    test::expect_values(row.fn(x), want, 1e-12);
    test::expect_close((x.*row.method)(), row.fn(x), 0, 0);
    EXPECT_EQ(row.fn(empty({0, 3}, opts())).sizes(), (Shape{0, 3}));
    for (DType t : {kFloat32, kFloat16, kBFloat16}) {
      Tensor low = row.fn(x.to(t));
      EXPECT_EQ(low.dtype(), t);
      test::expect_close(low, row.fn(x.to(t).to(kFloat64)), t == kFloat32 ? 1e-6 : 1e-2, 1e-5);
    }
    // Integers compute in float32, as torch's exp(int tensor).
    Tensor ints = tensor(std::vector<int64_t>{1, 2, 3}, {3}).to(dev());
    Tensor fi = row.fn(ints);
    EXPECT_EQ(fi.dtype(), kFloat32);
    test::expect_values(fi, {ref->second.f(1), ref->second.f(2), ref->second.f(3)}, 1e-6);
  }
}

TEST_P(TableUnaryTest, GradientsMatchFiniteDifferences) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const Row& row : rows()) {
    SCOPED_TRACE(row.name);
    const Reference& ref = references().at(row.name);
    Tensor x = uni({3, 4}, ref.lo, ref.hi, kFloat64);
    x.requires_grad_(true);
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return row.fn(in[0]); }, {x}));
    // Double backward: the gradient of the gradient.
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return test::first_derivative(row.fn, in[0]); }, {x}));
    EXPECT_EQ(row.fn(x).grad_fn()->name(), row.node);
  }
}

INSTANTIATE_DEVICE_TESTS(TableUnaryTest);

// Fresh random inputs on the GPU against the same inputs on the CPU (named CUDA: CTest's cuda label).
TEST(TableUnaryCUDA, MatchesCpu) {
  KILN_SKIP_WITHOUT_GPU();
  Generator gen(12);
  for (const Row& row : rows()) {
    SCOPED_TRACE(row.name);
    const Reference& ref = references().at(row.name);
    for (DType t : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
      Tensor x = add(mul(rand({301, 17}, TensorOptions(kFloat64), &gen), ref.hi - ref.lo), ref.lo).to(t);
      test::expect_close(row.fn(x.to(Device("cuda"))).cpu(), row.fn(x), t == kFloat64 || t == kFloat32 ? 1e-6 : 1e-2, 1e-6);
    }
  }
}
}  // namespace
}  // namespace kiln
