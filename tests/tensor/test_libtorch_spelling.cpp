// Lines as a libtorch user types them (from the libtorch documentation's examples) must compile and mean what
// they mean in libtorch. Each check compares the method spelling with kiln's free function or a known value.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "kiln/nn/functional.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_values;

Tensor m23() { return tensor(std::vector<float>{1, 5, 3, 4, 2, 6}, {2, 3}); }

TEST(LibtorchSpelling, ScalarOperandsOnMethods) {
  Tensor x = m23();
  expect_values(x.add(1), {2, 6, 4, 5, 3, 7});
  expect_values(x.add(1, 2), {3, 7, 5, 6, 4, 8});
  expect_values(x.sub(1.5), {-0.5, 3.5, 1.5, 2.5, 0.5, 4.5});
  expect_values(x.mul(2.0), {2, 10, 6, 8, 4, 12});
  expect_values(x.div(2), {0.5, 2.5, 1.5, 2, 1, 3});
  EXPECT_EQ(tensor(std::vector<int64_t>{3}, {1}).add(2, 3).item<int64_t>(), 9);  // stays integral
}

TEST(LibtorchSpelling, IntegerDimsAndTupleReductions) {
  Tensor x = m23();
  expect_values(x.sum(1), {9, 12});
  expect_values(x.mean(-1, true), {3, 4});
  EXPECT_EQ(x.mean(-1, true).sizes(), (Shape{2, 1}));
  auto [values, indices] = x.max(1);
  expect_values(values, {5, 6});
  expect_values(indices, {1, 2});
  Tensor lo = std::get<0>(x.min(0));
  expect_values(lo, {1, 2, 3});
  expect_values(x.amax({0}), {4, 5, 6});
  EXPECT_NEAR(x.var().item<double>(), 3.5, 1e-6);
  EXPECT_NEAR(x.var(false).item<double>(), 3.5 * 5 / 6, 1e-6);
  EXPECT_NEAR(x.std(Shape{1}, true, false).to_vector<double>()[0], 2.0, 1e-6);
  EXPECT_NEAR(x.norm().item<double>(), std::sqrt(91.0), 1e-5);
  EXPECT_NEAR(x.prod().item<double>(), 720.0, 1e-3);
  auto [top, where] = x.topk(2);
  expect_values(top, {5, 3, 6, 4});
  expect_values(where, {1, 2, 2, 0});
  expect_values(std::get<0>(x.sort(1, true)), {5, 3, 1, 6, 4, 2});
}

TEST(LibtorchSpelling, NamedParametersAndReductionConstants) {
  nn::Linear fc(3, 2);
  std::vector<std::string> names;
  for (const auto& p : fc->named_parameters()) {
    names.push_back(p.key());
    EXPECT_TRUE(p.value().requires_grad());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  for (const auto& [name, t] : fc->named_parameters()) EXPECT_FALSE(name.empty() || !t.defined());
  Tensor x = m23(), y = zeros({2, 3});
  EXPECT_NEAR(nn::functional::mse_loss(x, y, kSum).item<double>(), 91.0, 1e-4);
  EXPECT_NEAR(nn::functional::mse_loss(x, y, kMean).item<double>(), 91.0 / 6, 1e-4);
  EXPECT_EQ(nn::functional::mse_loss(x, y, kNone).sizes(), (Shape{2, 3}));
}

TEST(LibtorchSpelling, ComparisonsClampsAndPieces) {
  Tensor x = m23();
  expect_values(x.eq(5), {0, 1, 0, 0, 0, 0});
  expect_values(x.gt(x.mean()), {0, 1, 0, 1, 0, 1});
  expect_values(x.le(2.0), {1, 0, 0, 0, 1, 0});
  expect_values(x.clamp_min(3), {3, 5, 3, 4, 3, 6});
  expect_values(x.clamp_max(3), {1, 3, 3, 3, 2, 3});
  EXPECT_EQ(x.split(2, 1).size(), 2u);
  EXPECT_EQ(x.chunk(3, 1)[2].sizes(), (Shape{2, 1}));
  Tensor b = ones({4, 2, 3});
  EXPECT_EQ(b.bmm(ones({4, 3, 5})).sizes(), (Shape{4, 2, 5}));
  EXPECT_TRUE(x.to(kCPU).is_cpu());
}
}  // namespace
}  // namespace kiln
