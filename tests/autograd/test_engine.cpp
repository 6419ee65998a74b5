// The backward engine: accumulation, grad(), retain_graph, no_grad, hooks, version checks, gradcheck itself.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

using namespace kiln;
using kiln::test::expect_values;

class AutogradEngine : public kiln::test::DeviceTest {};
INSTANTIATE_DEVICE_TESTS(AutogradEngine);

TEST_P(AutogradEngine, ScalarBackwardAndAccumulation) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2, 3}).to(dev()).requires_grad_();
  Tensor y = (x * x).sum();  // dy/dx = 2x
  y.backward();
  expect_values(x.grad(), {2, 4, 6});
  (x * 3.0).sum().backward();  // accumulates
  expect_values(x.grad(), {5, 7, 9});
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_TRUE(y.requires_grad());
}

TEST_P(AutogradEngine, BackwardWithGradientArgument) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).to(dev()).requires_grad_();
  Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), ShapeError);  // non-scalar needs a gradient
  y.backward(tensor(std::vector<double>{1, 10}).to(dev()));
  expect_values(x.grad(), {2, 20});
}

TEST_P(AutogradEngine, SharedSubexpressionsSumGradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{2}).to(dev()).requires_grad_();
  Tensor a = x * x;
  Tensor y = (a + a * x).sum();  // x^2 + x^3 -> 2x + 3x^2 = 16
  y.backward();
  expect_values(x.grad(), {16});
}

TEST_P(AutogradEngine, GradReturnsWithoutAccumulating) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).to(dev()).requires_grad_();
  Tensor w = tensor(std::vector<double>{3, 4}).to(dev()).requires_grad_();
  Tensor y = (x * w).sum();
  auto g = autograd::grad({y}, {x}, {}, /*retain_graph=*/true);
  expect_values(g[0], {3, 4});
  EXPECT_FALSE(x.grad().defined());
  Tensor unused = tensor(std::vector<double>{1}).requires_grad_();
  EXPECT_THROW(autograd::grad({y}, {unused}, {}, true), AutogradError);
  auto g2 = autograd::grad({y}, {unused}, {}, true, false, /*allow_unused=*/true);
  EXPECT_FALSE(g2[0].defined());
}

TEST_P(AutogradEngine, SecondBackwardNeedsRetainGraph) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).to(dev()).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  expect_values(x.grad(), {4, 8});
  EXPECT_THROW(y.backward(), AutogradError);
}

TEST_P(AutogradEngine, CreateGraphGivesSecondDerivatives) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{3}).to(dev()).requires_grad_();
  Tensor y = (x * x * x).sum();
  auto g = autograd::grad({y}, {x}, {}, true, /*create_graph=*/true);  // 3x^2 = 27
  expect_values(g[0], {27});
  auto g2 = autograd::grad({g[0].sum()}, {x});  // 6x = 18
  expect_values(g2[0], {18});
}

TEST_P(AutogradEngine, NoGradAndDetachStopRecording) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = ones({2}, opts(kFloat64)).requires_grad_();
  {
    NoGradGuard guard;
    EXPECT_FALSE((x * 2.0).requires_grad());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
  EXPECT_FALSE(x.detach().requires_grad());
  {
    AutoGradMode off(false);
    EXPECT_FALSE(is_grad_enabled());
  }
  EXPECT_TRUE(is_grad_enabled());
  EXPECT_THROW(zeros({2}).sum().backward(), AutogradError);
  EXPECT_THROW(arange(3).requires_grad_(), DTypeError);
}

TEST_P(AutogradEngine, HooksSeeAndReplaceGradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).to(dev()).requires_grad_();
  Tensor mid = x * 2.0;
  std::vector<double> seen;
  mid.register_hook([&](const Tensor& g) {
    seen = g.to_vector<double>();
    return g * 10.0;
  });
  mid.retain_grad();
  mid.sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{1, 1}));
  expect_values(x.grad(), {20, 20});
  ASSERT_TRUE(mid.grad().defined());
  int calls = 0;
  Tensor leaf = ones({3}, opts(kFloat64)).requires_grad_();
  autograd::register_post_accumulate_grad_hook(leaf, [&](Tensor& p) {
    ++calls;
    EXPECT_TRUE(p.grad().defined());
  });
  (leaf * 2.0).sum().backward();
  EXPECT_EQ(calls, 1);
}

TEST_P(AutogradEngine, InPlaceChangesToSavedTensorsAreReported) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).to(dev()).requires_grad_();
  Tensor a = x * 1.0;
  Tensor y = (a * a).sum();  // saves a
  a.mul_(2.0);               // modifies it
  try {
    y.backward();
    FAIL() << "expected AutogradError";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("modified by an in-place operation"), std::string::npos) << e.what();
  }
  EXPECT_THROW(x.add_(1.0), AutogradError);  // leaf requiring grad
  {
    NoGradGuard g;
    x.add_(1.0);  // allowed, as optimizers do
  }
  expect_values(x, {2, 3});
}

// An in-place op whose operand is self: the operand it saves is overwritten by its own write, so backward
// must refuse (as PyTorch does) instead of using the new value (y.mul_(y) gave 12 where d(4x^2)/dx = 8).
TEST_P(AutogradEngine, InPlaceOpOnItselfIsReportedNotMisdifferentiated) {
  KILN_SKIP_IF_NO_DEVICE();
  for (int op = 0; op < 3; ++op) {
    Tensor x = ones({3}, opts(kFloat64)).requires_grad_();
    Tensor y = x * 2.0;
    if (op == 0) y.mul_(y);
    if (op == 1) y.div_(y);
    if (op == 2) addcmul_(y, y, y);
    EXPECT_THROW(y.sum().backward(), AutogradError) << "op " << op;
  }
  // The same ops with a distinct operand stay differentiable.
  Tensor x = ones({3}, opts(kFloat64)).requires_grad_();
  Tensor y = x * 2.0;
  y.mul_(y.detach().clone());
  y.sum().backward();
  expect_values(x.grad(), {4, 4, 4});
}

// A hook must return a gradient like the one it got; a wrong shape is refused at backward, not later.
TEST_P(AutogradEngine, HookReturningAWrongShapeIsRefusedAtBackward) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = ones({3}, opts(kFloat64)).requires_grad_();
  x.register_hook([&](const Tensor&) { return ones({5}, opts(kFloat64)); });
  try {
    (x * 2.0).sum().backward();
    FAIL() << "expected AutogradError";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("shape [5]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("shape [3]"), std::string::npos) << e.what();
  }
  Tensor a = ones({2}, opts(kFloat64)).requires_grad_();
  Tensor mid = a * 3.0;
  mid.register_hook([&](const Tensor& g) { return g.to(kFloat32); });
  EXPECT_THROW(mid.sum().backward(), AutogradError);
}

TEST_P(AutogradEngine, InPlaceOnNonLeafIsDifferentiable) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).to(dev()).requires_grad_();
  Tensor a = x * 3.0;
  a.add_(1.0);
  a.mul_(2.0);  // a = 2(3x + 1)
  a.sum().backward();
  expect_values(x.grad(), {6, 6});
}

TEST_P(AutogradEngine, GradientsCrossDevicesAndDtypes) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = tensor(std::vector<double>{1, 2}).requires_grad_();  // on the CPU
  Tensor y = (x.to(dev()).to(kFloat32) * 2.0f).sum();
  y.backward();
  EXPECT_EQ(x.grad().dtype(), kFloat64);
  EXPECT_TRUE(x.grad().is_cpu());
  expect_values(x.grad(), {2, 2});
}

TEST_P(AutogradEngine, ViewGradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = randn({3, 4}, opts(kFloat64)).requires_grad_();
  auto fn = [](const autograd::TensorList& in) {
    const Tensor& a = in[0];
    return a.t().slice(0, 1, 4, 2).select(1, 2).unsqueeze(0).expand({2, 2}).reshape({4}) * 1.0;
  };
  EXPECT_TRUE(autograd::gradcheck(fn, {x}));
  auto fn2 = [](const autograd::TensorList& in) { return in[0].narrow(1, 1, 2).permute({1, 0}).flatten() * 1.0; };
  EXPECT_TRUE(autograd::gradcheck(fn2, {x}));
}

TEST(Gradcheck, CatchesAWrongGradient) {
  Tensor x = randn({3}, TensorOptions(kFloat64)).requires_grad_();
  auto wrong = [](const autograd::TensorList& in) {
    Tensor out = in[0] * 1.0;
    Tensor val = out.detach() * out.detach();  // x^2 forward, but the graph says d/dx = 1
    return out + (val - out.detach());
  };
  EXPECT_THROW(autograd::gradcheck(wrong, {x}), AutogradError);
  EXPECT_THROW(autograd::gradcheck(wrong, {randn({3}).requires_grad_()}), DTypeError);
}
