// Small programs written as the libtorch documentation writes them (the autograd tutorial, the tensor creation
// and indexing notes, the C++ frontend's module and training loop), with torch:: spelled kiln::. Each must
// compile and give the documented results.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/module.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/accessor.h"
#include "kiln/tensor/indexing.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "test_util.h"

namespace {
namespace torch = kiln;  // what a port from libtorch does first
using kiln::test::expect_values;

TEST(LibtorchPrograms, AutogradTutorialBasics) {
  auto x = torch::ones({2, 2}, torch::requires_grad());
  auto y = x + 2;
  EXPECT_TRUE(y.grad_fn() != nullptr);
  auto z = y * y * 3;
  auto out = z.mean();
  EXPECT_NEAR(out.item<float>(), 27, 1e-5);
  auto a = torch::randn({2, 2});
  a = ((a * 3) / (a - 1));
  EXPECT_FALSE(a.requires_grad());
  a.requires_grad_(true);
  auto b = (a * a).sum();
  EXPECT_TRUE(b.requires_grad());
  out.backward();
  expect_values(x.grad(), {4.5, 4.5, 4.5, 4.5});
}

TEST(LibtorchPrograms, AutogradTutorialVectorJacobian) {
  torch::manual_seed(0);
  auto x = torch::randn({3}, torch::requires_grad());
  auto y = x * 2;
  while (y.norm().item<double>() < 1000) y = y * 2;
  auto v = torch::tensor({0.1, 1.0, 0.0001}, torch::kFloat);
  y.backward(v);
  double scale = y.div(x).mean().item<double>();
  expect_values(x.grad(), {0.1 * scale, 1.0 * scale, 0.0001 * scale}, 1e-5);
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.pow(2).requires_grad());
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(x.pow(2).requires_grad());
  }
  auto d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(x.eq(d).all().item<bool>());
}

TEST(LibtorchPrograms, AutogradTutorialGradientPenalty) {
  auto model = torch::nn::Linear(4, 3);
  auto input = torch::randn({3, 4}).requires_grad_(true);
  auto output = model(input);
  auto target = torch::zeros_like(output);
  auto loss = torch::nn::functional::mse_loss(output, target);
  auto grad_output = torch::ones_like(output);
  auto gradient = torch::autograd::grad({output}, {input}, /*grad_outputs=*/{grad_output}, /*retain_graph=*/true,
                                        /*create_graph=*/true)[0];
  auto gradient_penalty = torch::pow((gradient.norm(2, /*dim=*/1) - 1), 2).mean();
  auto combined_loss = loss + gradient_penalty;
  combined_loss.backward();
  EXPECT_EQ(input.grad().sizes(), (torch::Shape{3, 4}));
  EXPECT_TRUE(model->weight.grad().defined());
}

TEST(LibtorchPrograms, TensorCreationNotes) {
  torch::Tensor tensor = torch::ones({5});
  EXPECT_EQ(tensor.numel(), 5);
  tensor = torch::randn({3, 4, 5});
  EXPECT_EQ(tensor.sizes(), (torch::Shape{3, 4, 5}));
  tensor = torch::randint(/*high=*/10, {5, 5});
  EXPECT_LT(tensor.max().item<int64_t>(), 10);
  tensor = torch::randint(/*low=*/3, /*high=*/10, {5, 5});
  EXPECT_GE(tensor.min().item<int64_t>(), 3);
  auto options = torch::TensorOptions().dtype(torch::kFloat32).layout(torch::kStrided).device(torch::kCPU, -1)
                     .requires_grad(true);
  torch::Tensor t = torch::full({3, 4}, /*value=*/123, options);
  EXPECT_EQ(t.dtype(), torch::kFloat32);
  EXPECT_TRUE(t.requires_grad());
  EXPECT_EQ(torch::ones({2, 3}, torch::dtype(torch::kInt32)).dtype(), torch::kInt32);
  auto source = torch::randn({2, 3});
  EXPECT_EQ(source.to(torch::kInt32).dtype(), torch::kInt32);
  EXPECT_EQ(torch::tensor({1, 2, 3}).dtype(), torch::kInt64);
  float data[] = {1, 2, 3, 4, 5, 6};
  auto blob = torch::from_blob(data, {2, 3});
  EXPECT_FLOAT_EQ((blob.accessor<float, 2>()[1][2]), 6);
  EXPECT_DOUBLE_EQ(blob.sum().item().toDouble(), 21);
  EXPECT_EQ(blob.argmax().item().toLong(), 5);
}

TEST(LibtorchPrograms, TensorIndexingNotes) {
  using namespace torch::indexing;
  auto tensor = torch::arange(24).view({2, 3, 4});
  EXPECT_EQ(tensor.index({None}).sizes(), (torch::Shape{1, 2, 3, 4}));
  EXPECT_EQ(tensor.index({Ellipsis, None}).sizes(), (torch::Shape{2, 3, 4, 1}));
  EXPECT_EQ(tensor.index({"...", None}).sizes(), (torch::Shape{2, 3, 4, 1}));
  expect_values(tensor.index({1, 2}), {20, 21, 22, 23});
  EXPECT_EQ(tensor.index({true}).sizes(), (torch::Shape{1, 2, 3, 4}));
  EXPECT_EQ(tensor.index({torch::tensor({1, 0})}).sizes(), (torch::Shape{2, 3, 4}));
  EXPECT_EQ(tensor.index({Slice(None, 2)}).sizes(), (torch::Shape{2, 3, 4}));
  EXPECT_EQ(tensor.index({Slice(1, None, 2)}).sizes(), (torch::Shape{1, 3, 4}));
  tensor.index_put_({1, 2}, 1);
  tensor.index_put_({Slice(1, None, 2)}, 1);
  tensor.index_put_({torch::tensor({1, 0})}, 1);
  EXPECT_EQ(tensor.sum().item<int64_t>(), 24);
}

// The C++ frontend tutorial's Net: a module with registered submodules and a plain training loop.
struct Net : torch::nn::Module {
  Net(int64_t n, int64_t m) {
    fc1 = register_module("fc1", torch::nn::Linear(n, 8));
    fc2 = register_module("fc2", torch::nn::Linear(torch::nn::LinearOptions(8, m).bias(false)));
    another_bias = register_parameter("b", torch::randn({m}));
  }
  torch::Tensor forward(torch::Tensor input) {
    auto h = torch::relu(fc1->forward(input));
    h = torch::dropout(h, /*p=*/0.5, /*train=*/is_training());
    return torch::log_softmax(fc2->forward(h) + another_bias, /*dim=*/1);
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::Tensor another_bias;
};

TEST(LibtorchPrograms, FrontendNetAndTrainingLoop) {
  torch::manual_seed(1);
  auto net = std::make_shared<Net>(4, 3);
  for (const auto& pair : net->named_parameters()) EXPECT_FALSE(pair.key().empty());
  torch::optim::SGD optimizer(net->parameters(), /*lr=*/0.1);
  auto x = torch::randn({16, 4});
  auto target = torch::randint(3, {16});
  double first = 0, last = 0;
  net->eval();
  for (size_t epoch = 0; epoch < 30; ++epoch) {
    optimizer.zero_grad();
    torch::Tensor prediction = net->forward(x);
    torch::Tensor loss = torch::nll_loss(prediction, target);
    loss.backward();
    optimizer.step();
    (epoch == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first);
  torch::Tensor correct = net->forward(x).argmax(1).eq(target).sum();
  EXPECT_GT(correct.item<int64_t>(), 0);
  for (auto& p : net->parameters()) p.grad().zero_();  // what optimizer.zero_grad(false) spells by hand
}

TEST(LibtorchPrograms, ReductionsWithIntegerDims) {
  auto x = torch::tensor({{1.0, 2.0}, {3.0, 4.0}});
  expect_values(x.norm(2, 1), {std::sqrt(5.0), 5}, 1e-6);
  expect_values(x.logsumexp(1), {2 + std::log1p(std::exp(-1.0)), 4 + std::log1p(std::exp(-1.0))}, 1e-6);
  expect_values(x.amax(0), {3, 4});
  expect_values(x.amin(-1, true), {1, 3});
  expect_values(x.prod(1), {2, 12});
}
}  // namespace
