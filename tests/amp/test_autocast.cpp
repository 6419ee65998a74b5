// amp::Autocast: torch.autocast("cpu")'s output dtypes and values (tests/data/autocast_reference.json from
// scripts/gen_autocast_reference.py), scopes, the cast cache, gradients and the CUDA policy.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "json_reference.h"
#include "kiln/amp/autocast.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/batchnorm.h"
#include "kiln/nn/layers/conv.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/pooling.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/autocast/autocast_inputs.h"
#include "test_device.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;
using nlohmann::json;
using Args = std::vector<Tensor>;

const std::map<std::string, std::function<Tensor(const Args&)>>& reference_ops() {
  static const std::map<std::string, std::function<Tensor(const Args&)>> ops{
      {"mm", [](const Args& a) { return mm(a[0], a[1]); }},
      {"matmul_3d", [](const Args& a) { return matmul(a[0], a[1]); }},
      {"bmm", [](const Args& a) { return bmm(a[0], a[1]); }},
      {"addmm", [](const Args& a) { return addmm(a[0], a[1], a[2]); }},
      {"linear", [](const Args& a) { return F::linear(a[0], a[1], a[2]); }},
      {"mse_loss_low_input", [](const Args& a) { return F::mse_loss(a[0], a[1]); }},
      {"l1_loss_low_input", [](const Args& a) { return F::l1_loss(a[0], a[1]); }},
      {"smooth_l1_loss_low_input", [](const Args& a) { return F::smooth_l1_loss(a[0], a[1]); }},
      {"cross_entropy_low_input", [](const Args& a) { return F::cross_entropy(a[0], a[1]); }},
      {"nll_loss_low_input", [](const Args& a) { return F::nll_loss(a[0], a[1]); }},
      {"bce_low_input", [](const Args& a) { return F::binary_cross_entropy(a[0], a[1]); }},
      {"bce_with_logits_low_input", [](const Args& a) { return F::binary_cross_entropy_with_logits(a[0], a[1]); }},
      {"prod_low_input", [](const Args& a) { return prod(a[0]); }},
      {"softmax_low_input", [](const Args& a) { return softmax(a[0], 1); }},
      {"log_softmax_low_input", [](const Args& a) { return log_softmax(a[0], 1); }},
      {"exp_low_input", [](const Args& a) { return exp(a[0]); }},
      {"sum_low_input", [](const Args& a) { return sum(a[0]); }},
      {"exp_float32", [](const Args& a) { return exp(a[0]); }},
      {"relu_float32", [](const Args& a) { return F::relu(a[0]); }},
      {"add_mixed", [](const Args& a) { return add(a[0], a[1]); }},
      {"mul_mixed", [](const Args& a) { return mul(a[0], a[1]); }},
  };
  return ops;
}

DType dtype_named(const std::string& name) {
  for (DType t : {kFloat16, kBFloat16, kFloat32, kFloat64, kInt64})
    if (name == dtype_name(t)) return t;
  throw std::runtime_error("unknown dtype in the reference: " + name);
}

// Every case of torch's CPU autocast: the same output dtype, and values within one rounding of the output dtype.
TEST(Autocast, MatchesTorchCpuPolicyAndValues) {
  const json data = load_json_reference("autocast_reference.json", "scripts/gen_autocast_reference.py");
  ASSERT_FALSE(data["cases"].empty());
  for (const json& c : data["cases"]) {
    const std::string op = c["op"];
    SCOPED_TRACE(op + " under " + c["autocast_dtype"].get<std::string>());
    ASSERT_TRUE(reference_ops().count(op)) << "no kiln call for reference op " << op;
    Args args;
    for (const json& in : c["inputs"]) {
      Tensor t = tensor(in["values"].get<std::vector<double>>(), in["shape"].get<std::vector<int64_t>>(),
                        TensorOptions(kFloat64));
      args.push_back(t.to(dtype_named(in["dtype"])));
    }
    const DType low = dtype_named(c["autocast_dtype"]);
    Tensor y;
    {
      amp::Autocast ac(kCPU, low);
      y = reference_ops().at(op)(args);
    }
    EXPECT_EQ(dtype_name(y.dtype()), c["dtype"].get<std::string>());
    std::vector<double> got = y.to(kFloat64).reshape({-1}).to_vector<double>();
    std::vector<double> want = c["values"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    const double rel = y.dtype() == kBFloat16 ? 1.6e-2 : y.dtype() == kFloat16 ? 2e-3 : 2e-5;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], rel * std::fabs(want[i]) + rel) << i;
  }
}

TEST(Autocast, ScopesNestRestoreAndCanDisable) {
  Tensor x = randn({2, 3}), w = randn({4, 3});
  EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
  EXPECT_EQ(amp::get_autocast_dtype(kCPU), kBFloat16);
  EXPECT_EQ(amp::get_autocast_dtype(kCUDA), kFloat16);
  {
    amp::Autocast outer(kCPU);
    EXPECT_TRUE(amp::is_autocast_enabled(kCPU));
    EXPECT_FALSE(amp::is_autocast_enabled(kCUDA));
    EXPECT_EQ(F::linear(x, w).dtype(), kBFloat16);
    {
      amp::Autocast off(kCPU, /*enabled=*/false);
      EXPECT_EQ(F::linear(x, w).dtype(), kFloat32);
      {
        amp::Autocast half(kCPU, kFloat16);
        EXPECT_EQ(F::linear(x, w).dtype(), kFloat16);
      }
      EXPECT_EQ(F::linear(x, w).dtype(), kFloat32);
    }
    EXPECT_EQ(F::linear(x, w).dtype(), kBFloat16);
    EXPECT_EQ(F::linear(x.to(kFloat64), w.to(kFloat64)).dtype(), kFloat64);  // float64 is never cast
    EXPECT_EQ(mm(ones({2, 2}, kInt64), ones({2, 2}, kInt64)).dtype(), kInt64);
  }
  EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
  EXPECT_EQ(F::linear(x, w).dtype(), kFloat32);
  EXPECT_THROW(amp::Autocast(kCPU, kFloat32), DTypeError);
}

// A parameter is cast once per region however often it is used; an in-place update inside the region recasts it.
TEST(Autocast, CachesParameterCastsPerRegion) {
  Tensor w = randn({4, 3}).requires_grad_(true), x = randn({2, 3});
  {
    amp::Autocast ac(kCPU);
    Tensor y1 = F::linear(x, w), y2 = F::linear(x, w);
    EXPECT_EQ(amp::detail::autocast_cache_size(), 1u);
    EXPECT_EQ(y1.to(kFloat32).sum().item<float>(), y2.to(kFloat32).sum().item<float>());
    {
      NoGradGuard ng;
      w.mul_(2);
    }
    Tensor y3 = F::linear(x, w);
    EXPECT_NEAR(y3.to(kFloat32).sum().item<float>(), 2 * y1.to(kFloat32).sum().item<float>(),
                0.05 * std::fabs(y1.to(kFloat32).sum().item<float>()) + 0.05);
    F::linear(x.detach(), x.detach());  // no parameter: nothing cached
    EXPECT_EQ(amp::detail::autocast_cache_size(), 1u);
  }
  EXPECT_EQ(amp::detail::autocast_cache_size(), 0u);  // dropped when the outermost region closes
}

// Gradients reach float32 parameters in float32, close to float32 training's, whether backward runs inside or
// outside the region (backward ops keep the forward's dtypes).
TEST(Autocast, GradientsFlowToFloat32Parameters) {
  Tensor x = randn({8, 5}), target = randn({8, 2});
  Tensor w = randn({2, 5}).requires_grad_(true), b = randn({2}).requires_grad_(true);
  F::mse_loss(F::linear(x, w, b), target).backward();
  Tensor gw32 = w.grad().clone(), gb32 = b.grad().clone();
  for (bool inside : {false, true}) {
    SCOPED_TRACE(inside ? "backward inside" : "backward outside");
    w.grad().zero_();
    b.grad().zero_();
    Tensor loss;
    {
      amp::Autocast ac(kCPU);
      Tensor y = F::linear(x, w, b);
      EXPECT_EQ(y.dtype(), kBFloat16);
      loss = F::mse_loss(y, target);
      EXPECT_EQ(loss.dtype(), kFloat32);
      if (inside) loss.backward();
    }
    if (!inside) loss.backward();
    EXPECT_EQ(w.grad().dtype(), kFloat32);
    EXPECT_EQ(b.grad().dtype(), kFloat32);
    expect_close(w.grad(), gw32, 3e-2, 3e-2);
    expect_close(b.grad(), gb32, 3e-2, 3e-2);
  }
}

// Convolutions run in bfloat16 (oneDNN's kernels, or float32 rounded once where the CPU lacks them), batch norm and
// pooling in float32 (their kernels have no 16-bit path); the float32 parameters get float32 gradients close to
// float32 training's.
TEST(Autocast, ConvNetUnderAutocast) {
  manual_seed(3);
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)), nn::BatchNorm2d(4), nn::ReLU(),
                     nn::MaxPool2d(2), nn::Flatten(), nn::Linear(4 * 4 * 4, 3));
  Tensor x = randn({5, 1, 8, 8}), target = tensor(std::vector<int64_t>{0, 2, 1, 1, 0});
  F::cross_entropy(net->forward(x), target).backward();
  std::vector<Tensor> g32;
  for (const Tensor& p : net->parameters()) {
    g32.push_back(p.grad().clone());
    p.grad().zero_();
  }
  Tensor loss;
  {
    amp::Autocast ac(kCPU);
    Tensor conv = F::conv2d(x, net->parameters()[0], net->parameters()[1], 1, 1);
    EXPECT_EQ(conv.dtype(), kBFloat16);
    EXPECT_EQ(F::max_pool2d(conv, 2).dtype(), kFloat32);
    Tensor logits = net->forward(x);
    EXPECT_EQ(logits.dtype(), kBFloat16);
    loss = F::cross_entropy(logits, target);
  }
  loss.backward();
  const std::vector<Tensor> params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(params[i].grad().dtype(), kFloat32);
    expect_close(params[i].grad(), g32[i], 6e-2, 3e-2);
  }
}

class AutocastDevice : public DeviceTest {};

// The CUDA policy runs more ops in float32 than the CPU's (torch's lists): softmax, exp, sum, ...
TEST_P(AutocastDevice, PolicyPerDevice) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor h = randn({3, 4}, opts()).to(kBFloat16);
  amp::Autocast ac(dev().type(), kBFloat16);
  const DType on_cuda = dev().is_cuda() ? kFloat32 : kBFloat16;
  EXPECT_EQ(softmax(h, 1).dtype(), on_cuda);
  EXPECT_EQ(log_softmax(h, 1).dtype(), on_cuda);
  EXPECT_EQ(exp(h).dtype(), on_cuda);
  EXPECT_EQ(sum(h).dtype(), on_cuda);
  EXPECT_EQ(pow(h, 2.0).dtype(), on_cuda);
  EXPECT_EQ(cumsum(h, 1).dtype(), on_cuda);
  EXPECT_EQ(sqrt(abs(h)).dtype(), kBFloat16);
  EXPECT_EQ(prod(h).dtype(), kFloat32);
  EXPECT_EQ(F::mse_loss(h, h).dtype(), kFloat32);
  EXPECT_EQ(atan2(h, randn({3, 4}, opts())).dtype(), kFloat32);
  EXPECT_EQ(mm(randn({2, 3}, opts()), randn({3, 2}, opts())).dtype(), kBFloat16);
  // autocast for the other device type leaves these tensors alone
  const DeviceType other = dev().is_cuda() ? DeviceType::CPU : DeviceType::CUDA;
  amp::Autocast off(dev().type(), false);
  amp::Autocast elsewhere(other, kBFloat16);
  EXPECT_EQ(mm(randn({2, 3}, opts()), randn({3, 2}, opts())).dtype(), kFloat32);
}
INSTANTIATE_DEVICE_TESTS(AutocastDevice);
}  // namespace
}  // namespace kiln::test
