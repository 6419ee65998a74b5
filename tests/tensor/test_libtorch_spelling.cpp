// Lines as a libtorch user types them (from the libtorch documentation's examples) must compile and mean what
// they mean in libtorch. Each check compares the method spelling with kiln's free function or a known value.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "kiln/autograd/node.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/tensor/indexing.h"
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
  // grad_fn()->name() with PyTorch's overload numbers.
  Tensor w = m23().requires_grad_();
  EXPECT_EQ(w.sum().grad_fn()->name(), "SumBackward0");
  EXPECT_EQ(w.sum(1).grad_fn()->name(), "SumBackward1");
  EXPECT_EQ(w.mean().grad_fn()->name(), "MeanBackward0");
  EXPECT_EQ(w.max().grad_fn()->name(), "MaxBackward1");
  EXPECT_EQ(std::get<0>(w.max(1)).grad_fn()->name(), "MaxBackward0");
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
TEST(LibtorchSpelling, InPlaceOnTemporariesAndTheUnaryTable) {
  Tensor w = m23().requires_grad_();
  w.sum().backward();
  w.grad().zero_();  // in-place methods are const, as libtorch's
  expect_values(w.grad(), {0, 0, 0, 0, 0, 0});
  Tensor x = m23();
  expect_values(x.clone().exp_().log_(), {1, 5, 3, 4, 2, 6}, 1e-6);
  expect_values(x.clone().sqrt_().pow_(2), {1, 5, 3, 4, 2, 6}, 1e-6);
  expect_values(x.clone().neg_().abs_().sub_(1).clamp_(0, 3), {0, 3, 2, 3, 1, 3});
  expect_values(x.clone().sigmoid_(), x.sigmoid().to_vector<double>());
  expect_values(x.clone().tanh_().sin_().cos_(), x.tanh().sin().cos().to_vector<double>());
}

TEST(LibtorchSpelling, DivisionModes) {
  Tensor a = tensor({7, -7}), b = tensor({2, 2});
  expect_values(a.div(b, "floor"), {3, -4});
  expect_values(div(a, b, "trunc"), {3, -3});
  expect_values(a.floor_divide(2), {3, -4});
  expect_values(a.fmod(2), {1, -1});
  expect_values(a.remainder(2), {1, 1});
  expect_values(tensor({7.5, -7.5}).div(2, "trunc"), {3, -3});
}

TEST(LibtorchSpelling, RearrangingAndSelecting) {
  Tensor x = m23();
  expect_values(x.repeat({1, 2}), {1, 5, 3, 1, 5, 3, 4, 2, 6, 4, 2, 6});
  expect_values(x.flip({1}), {3, 5, 1, 6, 2, 4});
  expect_values(x.cumsum(1), {1, 6, 9, 4, 6, 12});
  expect_values(x.cumprod(0), {1, 5, 3, 4, 10, 18});
  expect_values(x.nonzero().select(1, 0), {0, 0, 0, 1, 1, 1});
  expect_values(x.masked_select(x.gt(3)), {5, 4, 6});
  expect_values(x.masked_fill(x.gt(3), 0), {1, 0, 3, 0, 2, 0});
  expect_values(where(x.gt(3), x, 0), {0, 5, 0, 4, 0, 6});
}

TEST(LibtorchSpelling, IndexingAndEinsum) {
  using namespace kiln::indexing;
  Tensor x = m23();
  expect_values(x.index({Slice(1, None), 0}), {4});
  expect_values(x.index({"...", Slice(None, 2)}), {1, 5, 4, 2});
  expect_values(x.index({x.gt(4)}), {5, 6});
  Tensor y = x.clone();
  y.index_put_({0, Slice()}, 0);
  expect_values(y, {0, 0, 0, 4, 2, 6});
  expect_values(einsum("ij,kj->ik", {x, x}), {35, 32, 32, 56});
}

TEST(LibtorchSpelling, TensorLiteralsAndModules) {
  EXPECT_EQ(tensor({1, 2, 3}).dtype(), kInt64);
  EXPECT_EQ(tensor({{1.5, 2.0}, {3.0, 4.0}}).sizes(), (Shape{2, 2}));
  nn::Sequential seq(nn::Linear(nn::LinearOptions(3, 2).bias(false)), nn::ReLU());
  EXPECT_FALSE(seq[0]->as<nn::Linear>()->bias.defined());
  EXPECT_EQ(seq->at<nn::LinearImpl>(0).out_features, 2);
  namespace F = kiln::nn::functional;
  Tensor loss = F::cross_entropy(m23(), tensor({1, 2}), F::CrossEntropyFuncOptions().label_smoothing(0.1));
  EXPECT_EQ(loss.dim(), 0);
}
}  // namespace
}  // namespace kiln
