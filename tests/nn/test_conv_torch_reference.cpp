// Convolution, pooling and batch norm against PyTorch's outputs and gradients in tests/data/conv_reference.json
// (made by scripts/gen_conv_reference.py), through the functional ops and the layers, on every device.
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "json_reference.h"
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/nn/layers/batchnorm.h"
#include "kiln/nn/layers/conv.h"
#include "kiln/tensor/ops/copy.h"
#include "ops/conv_test_devices.h"
#include "ops/torch_reference_runner.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::TensorList;
using test::torch_ref::json;
using test::torch_ref::OpFn;
using Ops = std::map<std::string, OpFn>;
namespace F = nn::functional;

const json& conv_reference() {
  static const json data = test::load_json_reference("conv_reference.json", "scripts/gen_conv_reference.py");
  return data;
}

// torch's int-or-list size arguments.
template <size_t D>
nn::ExpandingArray<D> sizes(const json& v) {
  if (v.is_number()) return v.get<int64_t>();
  return v.get<std::vector<int64_t>>();
}
template <size_t D>
nn::ConvPadding<D> padding(const json& v) {
  if (v.is_string()) return nn::ConvPadding<D>(v.get<std::string>());
  return nn::ConvPadding<D>(sizes<D>(v));
}

// A batch-norm case's outputs: y, then the running statistics after the call (updated in place).
TensorList batch_norm_case(TensorList& x, const json& a) {
  Tensor rm = x[3].detach().clone(), rv = x[4].detach().clone();
  Tensor y = F::batch_norm(x[0], rm, rv, x[1], x[2], a["training"].get<bool>(), a["momentum"].get<double>(),
                           a["eps"].get<double>());
  return {y, rm, rv};
}

const Ops& functional_ops() {
  static const Ops ops = {
      {"conv2d",
       [](TensorList& x, const json& a) -> TensorList {
         return {F::conv2d(x[0], x[1], x[2], sizes<2>(a["stride"]), padding<2>(a["padding"]), sizes<2>(a["dilation"]),
                           a["groups"].get<int64_t>())};
       }},
      {"conv1d",
       [](TensorList& x, const json& a) -> TensorList {
         return {F::conv1d(x[0], x[1], x[2], sizes<1>(a["stride"]), padding<1>(a["padding"]), sizes<1>(a["dilation"]),
                           a["groups"].get<int64_t>())};
       }},
      {"max_pool2d",
       [](TensorList& x, const json& a) -> TensorList {
         auto [y, i] = F::max_pool2d_with_indices(x[0], sizes<2>(a["kernel_size"]), sizes<2>(a["stride"]),
                                                  sizes<2>(a["padding"]), sizes<2>(a["dilation"]),
                                                  a["ceil_mode"].get<bool>());
         return {y, i};
       }},
      {"avg_pool2d",
       [](TensorList& x, const json& a) -> TensorList {
         return {F::avg_pool2d(x[0], sizes<2>(a["kernel_size"]), sizes<2>(a["stride"]), sizes<2>(a["padding"]),
                               a["ceil_mode"].get<bool>(), a["count_include_pad"].get<bool>())};
       }},
      {"adaptive_avg_pool2d",
       [](TensorList& x, const json& a) -> TensorList {
         return {F::adaptive_avg_pool2d(x[0], sizes<2>(a["output_size"]))};
       }},
      {"batch_norm", batch_norm_case},
  };
  return ops;
}

// The same cases through the layers, with torch's tensors loaded into the layer's parameters and buffers.
const Ops& module_ops() {
  static const Ops ops = {
      {"conv2d",
       [](TensorList& x, const json& a) -> TensorList {
         const Tensor& w = x[1];
         nn::Conv2d m(nn::Conv2dOptions(w.size(1) * a["groups"].get<int64_t>(), w.size(0), {w.size(2), w.size(3)})
                          .stride(sizes<2>(a["stride"]))
                          .padding(padding<2>(a["padding"]))
                          .dilation(sizes<2>(a["dilation"]))
                          .groups(a["groups"].get<int64_t>())
                          .bias(x[2].defined()));
         m->to(w.device(), w.dtype());
         {
           NoGradGuard g;
           m->weight.copy_(x[1]);
           if (x[2].defined()) m->bias.copy_(x[2]);
         }
         x[1] = m->weight;
         if (x[2].defined()) x[2] = m->bias;
         return {m->forward(x[0])};
       }},
      {"batch_norm",
       [](TensorList& x, const json& a) -> TensorList {
         const int64_t c = x[0].size(1);
         nn::BatchNormOptions o = nn::BatchNormOptions(c).momentum(a["momentum"].get<double>()).eps(a["eps"].get<double>()).affine(x[1].defined());
         std::shared_ptr<nn::BatchNormImplBase> m;
         if (x[0].dim() == 4) m = nn::BatchNorm2d(o).ptr();
         else m = nn::BatchNorm1d(o).ptr();
         m->to(x[0].device(), x[0].dtype());
         m->train(a["training"].get<bool>());
         {
           NoGradGuard g;
           if (x[1].defined()) m->weight.copy_(x[1]), m->bias.copy_(x[2]);
           m->running_mean.copy_(x[3]);
           m->running_var.copy_(x[4]);
         }
         if (x[1].defined()) x[1] = m->weight, x[2] = m->bias;
         Tensor y = m->forward(x[0]);
         return {y, m->running_mean.detach().clone(), m->running_var.detach().clone()};
       }},
  };
  return ops;
}

int run(Device dev, const Ops& ops, bool float32) {
  int ran = 0;
  for (const json& c : conv_reference().at("nn")) {
    auto it = ops.find(c.at("op").get<std::string>());
    if (it == ops.end() || (c.at("name").get<std::string>().rfind("f32_", 0) == 0) != float32) continue;
    test::torch_ref::run_case(c, dev, it->second);
    ++ran;
  }
  return ran;
}

class TorchReferenceConv : public test::DeviceTest {};

TEST_P(TorchReferenceConv, Functional) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GE(run(dev(), functional_ops(), false), 20);
}

TEST_P(TorchReferenceConv, FunctionalFloat32) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GE(run(dev(), functional_ops(), true), 7);
}

TEST_P(TorchReferenceConv, Layers) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GE(run(dev(), module_ops(), false), 10);
  EXPECT_GE(run(dev(), module_ops(), true), 4);
}

INSTANTIATE_CONV_FAMILY_TESTS(TorchReferenceConv);
}  // namespace
}  // namespace kiln
