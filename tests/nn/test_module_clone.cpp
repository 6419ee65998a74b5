// Module::clone(): every built-in layer and container copies its type, settings, values, requires_grad and
// training mode into tensors of its own (the copy trains without touching the original), containers keep their
// forwards, a module of one's own clones through clone_empty(), and what cannot be copied is a clear error.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/core/error.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace {
using namespace kiln;
const Device kCpu("cpu");

// The clone has the original's tensors by name, equal in value, dtype, device and requires_grad, but its own
// storage; and the same training mode at every level.
void expect_deep_copy(const nn::Module& original, const nn::Module& copy) {
  EXPECT_EQ(copy.name(), original.name());
  for (bool params : {true, false}) {
    const nn::NamedTensors a = params ? original.named_parameters() : original.named_buffers();
    const nn::NamedTensors b = params ? copy.named_parameters() : copy.named_buffers();
    ASSERT_EQ(a.size(), b.size()) << original.name();
    for (size_t i = 0; i < a.size(); ++i) {
      SCOPED_TRACE(original.name() + " " + a[i].first);
      EXPECT_EQ(b[i].first, a[i].first);
      EXPECT_EQ(b[i].second.dtype(), a[i].second.dtype());
      EXPECT_EQ(b[i].second.device(), a[i].second.device());
      EXPECT_EQ(b[i].second.requires_grad(), a[i].second.requires_grad());
      EXPECT_NE(b[i].second.data_ptr(), a[i].second.data_ptr()) << "the clone shares storage with the original";
      EXPECT_TRUE(b[i].second.equal(a[i].second));
    }
  }
  const auto ma = original.named_modules(false), mb = copy.named_modules(false);
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i) EXPECT_EQ(mb[i].second->is_training(), ma[i].second->is_training());
}

struct UnaryCase {
  std::string label;
  std::shared_ptr<nn::Module> module;
  std::function<Tensor(nn::Module&, const Tensor&)> forward;
  Shape input;
};
template <typename Holder>
UnaryCase unary(std::string label, Holder h, Shape input) {
  return {std::move(label), h.ptr(),
          [](nn::Module& m, const Tensor& x) { return static_cast<typename Holder::Impl&>(m).forward(x); }, input};
}

std::vector<UnaryCase> unary_cases() {
  return {
      unary("Linear", nn::Linear(4, 3), {2, 4}),
      unary("Linear without bias", nn::Linear(nn::LinearOptions(4, 3).bias(false)), {2, 4}),
      unary("ReLU", nn::ReLU(), {2, 4}),
      unary("LeakyReLU", nn::LeakyReLU(0.2), {2, 4}),
      unary("GELU tanh", nn::GELU("tanh"), {2, 4}),
      unary("SiLU", nn::SiLU(), {2, 4}),
      unary("Tanh", nn::Tanh(), {2, 4}),
      unary("Sigmoid", nn::Sigmoid(), {2, 4}),
      unary("Softmax", nn::Softmax(0), {2, 4}),
      unary("LogSoftmax", nn::LogSoftmax(1), {2, 4}),
      unary("BatchNorm1d", nn::BatchNorm1d(nn::BatchNormOptions(4).momentum(0.3)), {5, 4}),
      unary("BatchNorm2d", nn::BatchNorm2d(3), {2, 3, 4, 4}),
      unary("Conv1d", nn::Conv1d(nn::Conv1dOptions(2, 3, 3).padding(1)), {2, 2, 7}),
      unary("Conv2d", nn::Conv2d(nn::Conv2dOptions(2, 4, 3).stride(2).groups(2).bias(false)), {2, 2, 7, 7}),
      unary("ConvTranspose2d", nn::ConvTranspose2d(2, 3, 2), {1, 2, 4, 4}),
      unary("Dropout (eval)", nn::Dropout(0.3), {2, 4}),
      unary("Dropout2d (eval)", nn::Dropout2d(0.3), {2, 2, 3, 3}),
      unary("Identity", nn::Identity(), {2, 4}),
      unary("Flatten", nn::Flatten(), {2, 2, 3}),
      unary("LayerNorm", nn::LayerNorm(4), {3, 4}),
      unary("GroupNorm", nn::GroupNorm(2, 4), {2, 4, 3, 3}),
      unary("MaxPool2d", nn::MaxPool2d(2), {1, 2, 4, 4}),
      unary("AvgPool2d", nn::AvgPool2d(2), {1, 2, 4, 4}),
      unary("AdaptiveAvgPool2d", nn::AdaptiveAvgPool2d(nn::ExpandingArray<2>(1)), {1, 2, 4, 4}),
      unary("ResidualBlock", nn::ResidualBlock(2, 4, 2), {2, 2, 6, 6}),
      unary("Upsample", nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2.0})), {1, 1, 2, 2}),
      unary("Sequential", nn::Sequential(nn::Linear(4, 5), nn::ReLU(), nn::BatchNorm1d(5), nn::Linear(5, 2)), {3, 4}),
      unary("Functional", nn::Functional([](const Tensor& x) { return mul(x, 2.0); }, "double"), {2, 4}),
  };
}

TEST(ModuleClone, EveryLayerCopiesItsSettingsAndValues) {
  for (auto& c : unary_cases()) {
    SCOPED_TRACE(c.label);
    c.module->to(kFloat64);
    // Move the state away from construction's values: training-mode running statistics, then eval.
    Tensor x = test::rnd(c.input, kCpu);
    (void)c.forward(*c.module, x);
    c.module->eval();
    std::shared_ptr<nn::Module> copy = c.module->clone();
    ASSERT_NE(copy, nullptr);
    EXPECT_NE(copy, c.module);
    expect_deep_copy(*c.module, *copy);
    test::expect_close(c.forward(*copy, x), c.forward(*c.module, x), 0, 0);
  }
}

TEST(ModuleClone, TheCopyTrainsWithoutTouchingTheOriginal) {
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 1));
  net->to(kFloat64);
  net[0]->named_parameters()[1].second.requires_grad_(false);  // a frozen bias stays frozen in the copy
  auto copy = std::dynamic_pointer_cast<nn::SequentialImpl>(net->clone());
  ASSERT_NE(copy, nullptr);
  expect_deep_copy(*net, *copy);
  const StateDict before = net->state_dict();
  std::vector<Tensor> saved;
  for (const auto& kv : before) saved.push_back(kv.second.clone());
  optim::SGD opt(copy->parameters(), optim::SGDOptions(0.1));
  copy->forward(test::rnd({5, 3}, kCpu)).sum().backward();
  opt.step();
  size_t i = 0;
  for (const auto& kv : net->state_dict()) EXPECT_TRUE(kv.second.equal(saved[i++])) << kv.first;
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined()) << "the original got a gradient";
  EXPECT_FALSE(copy->named_parameters()[0].second.equal(net->named_parameters()[0].second));
}

TEST(ModuleClone, KeepsDtypeAndTrainingModePerModule) {
  nn::Sequential net(nn::Linear(2, 2), nn::Dropout(0.5));
  net->to(kFloat16);
  net[1]->eval();
  auto copy = net->clone();
  expect_deep_copy(*net, *copy);
  EXPECT_EQ(copy->parameters()[0].dtype(), kFloat16);
}

// A module of one's own: KILN_CLONE_EMPTY makes it cloneable, children and all.
struct Tower : nn::Module {
  explicit Tower(int64_t width) : width(width) {
    fc = register_module("fc", nn::Linear(width, width));
    scale = register_parameter("scale", ones({1}));
    register_buffer("steps", zeros({1}, kInt64));
  }
  Tensor forward(const Tensor& x) { return fc->forward(x) * scale; }
  KILN_CLONE_EMPTY(std::make_shared<Tower>(width))
  int64_t width;
  nn::Linear fc{nullptr};
  Tensor scale;
};
struct NoClone : nn::Module {
  NoClone() { register_parameter("w", ones({2})); }
};

TEST(ModuleClone, ModulesOfOnesOwn) {
  auto t = std::make_shared<Tower>(3);
  t->scale.data_ptr<float>()[0] = 2.5f;
  auto copy = std::dynamic_pointer_cast<Tower>(t->clone());
  ASSERT_NE(copy, nullptr);
  expect_deep_copy(*t, *copy);
  EXPECT_FLOAT_EQ(copy->scale.item<float>(), 2.5f) << "the member handle sees the copied value";
  Tensor x = test::rnd({2, 3}, kCpu, kFloat32);
  test::expect_close(copy->forward(x), t->forward(x), 0, 0);
  EXPECT_THROW_WITH(std::make_shared<NoClone>()->clone(), NotImplemented, "clone_empty");
  nn::Sequential holds_one(nn::Linear(2, 2));
  holds_one->push_back(std::make_shared<NoClone>());
  EXPECT_THROW_WITH(holds_one->clone(), NotImplemented, "NoClone");
}

TEST(ModuleClone, TiedWeightsAreRefused) {
  nn::Linear shared(3, 3);
  nn::Sequential net(shared, nn::ReLU(), shared);
  EXPECT_THROW_WITH(net->clone(), ValueError, "tied");
}
}  // namespace
