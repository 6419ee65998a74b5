// The op table's generic binary ops, each checked the same way: values against a float64 reference on
// every broadcast shape and dtype, CUDA against the CPU, float64 gradcheck, the Tensor method and the
// autograd node name. A Generic row without a reference below fails the test, so a new op cannot skip it.
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
  std::function<double(double, double)> f;
  double lo, hi;  // input range where the op and its finite differences are well behaved
};

// The float64 reference of every generic row, by name.
const std::map<std::string, Reference>& references() {
  static const std::map<std::string, Reference> refs = {
      {"maximum", {[](double a, double b) { return std::fmax(a, b); }, -3, 3}},
      {"minimum", {[](double a, double b) { return std::fmin(a, b); }, -3, 3}},
      {"atan2", {[](double a, double b) { return std::atan2(a, b); }, -3, 3}},
  };
  return refs;
}

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
struct Row {
  const char* name;
  const char* node;
  KernelDTypes dtypes;
  BinaryFn fn;
  Tensor (Tensor::*method)(const Tensor&) const;
};
std::vector<Row> generic_rows() {
  std::vector<Row> rows;
#define KILN_TEST_ROW(name, E, dtypes, autocast, front) \
  KILN_IF_GENERIC_##front(rows.push_back({#name, #E "Backward0", KernelDTypes::dtypes, &kiln::name, &Tensor::name});)
  KILN_FORALL_BINARY_OPS(KILN_TEST_ROW)
#undef KILN_TEST_ROW
  return rows;
}

class TableBinaryTest : public test::PointwiseTest {};

TEST_P(TableBinaryTest, ValuesMatchTheFloat64Reference) {
  KILN_SKIP_IF_NO_DEVICE();
  ASSERT_FALSE(generic_rows().empty());
  for (const Row& row : generic_rows()) {
    auto ref = references().find(row.name);
    ASSERT_NE(ref, references().end()) << "no float64 reference for generic op '" << row.name << "'";
    for (auto& [sa, sb] : test::binary_shapes()) {
      SCOPED_TRACE(::testing::Message() << row.name << " " << shape_to_string(sa) << " " << shape_to_string(sb));
      Tensor a = uni(sa, ref->second.lo, ref->second.hi, kFloat64), b = uni(sb, ref->second.lo, ref->second.hi, kFloat64);
      Tensor out = row.fn(a, b);
      Tensor expected = empty(out.sizes(), TensorOptions(kFloat64));
      Tensor ea = a.expand(out.sizes()).cpu().contiguous(), eb = b.expand(out.sizes()).cpu().contiguous();
      auto va = ea.to_vector<double>(), vb = eb.to_vector<double>();
      std::vector<double> want(va.size());
      for (size_t i = 0; i < va.size(); ++i) want[i] = ref->second.f(va[i], vb[i]);
      test::expect_values(out, want, 1e-12);
      test::expect_close((a.*row.method)(b), out, 0, 0);
      for (DType t : {kFloat32, kFloat16, kBFloat16}) {
        Tensor low = row.fn(a.to(t), b.to(t));
        EXPECT_EQ(low.dtype(), t);
        test::expect_close(low, row.fn(a.to(t).to(kFloat64), b.to(t).to(kFloat64)), t == kFloat32 ? 1e-6 : 1e-2, 1e-6);
      }
    }
  }
}

TEST_P(TableBinaryTest, DTypeRulesFollowTheTable) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const Row& row : generic_rows()) {
    SCOPED_TRACE(row.name);
    Tensor i = tensor(std::vector<int32_t>{1, 2, 3}, {3}).to(dev()), l = tensor(std::vector<int64_t>{3, 1, 2}, {3}).to(dev());
    if (row.dtypes == KernelDTypes::Floating) {
      EXPECT_EQ(row.fn(i, l).dtype(), kFloat32);  // integers compute in float32, as torch's atan2
    } else {
      EXPECT_EQ(row.fn(i, l).dtype(), kInt64);
    }
    Tensor f = ones({3}, opts(kFloat16));
    EXPECT_EQ(row.fn(f, ones({3}, opts(kBFloat16))).dtype(), kFloat32);
  }
}


TEST_P(TableBinaryTest, GradientsMatchFiniteDifferences) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const Row& row : generic_rows()) {
    const Reference& ref = references().at(row.name);
    for (auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {3, 4}}, {{3, 1}, {4}}, {{}, {2, 3}}}) {
      SCOPED_TRACE(::testing::Message() << row.name << " " << shape_to_string(sa) << " " << shape_to_string(sb));
      Tensor a = uni(sa, ref.lo, ref.hi, kFloat64), b = uni(sb, ref.lo, ref.hi, kFloat64);
      a.requires_grad_(true);
      b.requires_grad_(true);
      EXPECT_TRUE(gradcheck([&](const TensorList& in) { return row.fn(in[0], in[1]); }, {a, b}));
      EXPECT_EQ(row.fn(a, b).grad_fn()->name(), row.node);
    }
  }
}

INSTANTIATE_DEVICE_TESTS(TableBinaryTest);

// Fresh random inputs on the GPU against the same inputs on the CPU (named CUDA: CTest's cuda label).
TEST(TableBinaryCUDA, MatchesCpu) {
  KILN_SKIP_WITHOUT_GPU();
  Generator gen(11);
  for (const Row& row : generic_rows()) {
    SCOPED_TRACE(row.name);
    const Reference& ref = references().at(row.name);
    for (DType t : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
      Tensor a = add(mul(rand({37, 41}, TensorOptions(kFloat64), &gen), ref.hi - ref.lo), ref.lo).to(t);
      Tensor b = add(mul(rand({41}, TensorOptions(kFloat64), &gen), ref.hi - ref.lo), ref.lo).to(t);
      Tensor gpu = row.fn(a.to(Device("cuda")), b.to(Device("cuda"))).cpu();
      test::expect_close(gpu, row.fn(a, b), t == kFloat64 || t == kFloat32 ? 1e-6 : 1e-2, 1e-6);
    }
  }
}
}  // namespace
}  // namespace kiln
