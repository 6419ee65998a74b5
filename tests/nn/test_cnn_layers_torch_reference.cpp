// ConvTranspose2d, GroupNorm and interpolate/Upsample against PyTorch's outputs and gradients in
// tests/data/cnn_layers_reference.json (made by scripts/gen_cnn_layers_reference.py), through the functional
// ops and the layers, on every device.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "json_reference.h"
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/nn/functional/upsample.h"
#include "kiln/nn/layers/conv_transpose.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/layers/upsample.h"
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

const json& reference() {
  static const json data =
      test::load_json_reference("cnn_layers_reference.json", "scripts/gen_cnn_layers_reference.py");
  return data;
}

nn::ExpandingArray<2> sizes(const json& v) {
  if (v.is_number()) return v.get<int64_t>();
  return v.get<std::vector<int64_t>>();
}

F::InterpolateFuncOptions interpolate_options(const json& a) {
  F::InterpolateFuncOptions o;
  o.mode(a["mode"].get<std::string>() == "bilinear" ? nn::kBilinear : nn::kNearest);
  if (!a["size"].is_null()) o.size(a["size"].get<std::vector<int64_t>>());
  if (a["scale_factor"].is_number()) o.scale_factor(std::vector<double>{a["scale_factor"].get<double>()});
  else if (!a["scale_factor"].is_null()) o.scale_factor(a["scale_factor"].get<std::vector<double>>());
  if (!a["align_corners"].is_null()) o.align_corners(a["align_corners"].get<bool>());
  return o;
}

const Ops& functional_ops() {
  static const Ops ops = {
      {"conv_transpose2d",
       [](TensorList& x, const json& a) -> TensorList {
         return {F::conv_transpose2d(x[0], x[1], x[2], sizes(a["stride"]), sizes(a["padding"]),
                                     sizes(a["output_padding"]), a["groups"].get<int64_t>(), sizes(a["dilation"]))};
       }},
      {"group_norm",
       [](TensorList& x, const json& a) -> TensorList {
         return {F::group_norm(x[0], a["num_groups"].get<int64_t>(), x[1], x[2], a["eps"].get<double>())};
       }},
      {"interpolate",
       [](TensorList& x, const json& a) -> TensorList { return {F::interpolate(x[0], interpolate_options(a))}; }},
  };
  return ops;
}

// Loads torch's values into a layer parameter and hands the parameter to the runner, so gradients are the layer's.
void adopt(Tensor& param, Tensor& input) {
  {
    NoGradGuard g;
    param.copy_(input);
  }
  input = param;
}

// The same cases through the layers.
const Ops& module_ops() {
  static const Ops ops = {
      {"conv_transpose2d",
       [](TensorList& x, const json& a) -> TensorList {
         const Tensor& w = x[1];
         const int64_t groups = a["groups"].get<int64_t>();
         nn::ConvTranspose2d m(nn::ConvTranspose2dOptions(w.size(0), w.size(1) * groups, {w.size(2), w.size(3)})
                                   .stride(sizes(a["stride"]))
                                   .padding(sizes(a["padding"]))
                                   .output_padding(sizes(a["output_padding"]))
                                   .groups(groups)
                                   .dilation(sizes(a["dilation"]))
                                   .bias(x[2].defined()));
         m->to(w.device(), w.dtype());
         adopt(m->weight, x[1]);
         if (x[2].defined()) adopt(m->bias, x[2]);
         return {m->forward(x[0])};
       }},
      {"group_norm",
       [](TensorList& x, const json& a) -> TensorList {
         nn::GroupNorm m(nn::GroupNormOptions(a["num_groups"].get<int64_t>(), x[0].size(1))
                             .eps(a["eps"].get<double>())
                             .affine(x[1].defined()));
         m->to(x[0].device(), x[0].dtype());
         if (x[1].defined()) adopt(m->weight, x[1]), adopt(m->bias, x[2]);
         return {m->forward(x[0])};
       }},
      {"interpolate",
       [](TensorList& x, const json& a) -> TensorList { return {nn::Upsample(interpolate_options(a))->forward(x[0])}; }},
  };
  return ops;
}

// Runs the cases of the given ops (every op when `only` is empty) in float64 or float32; returns the count.
int run(Device dev, const Ops& ops, bool float32, const std::string& only = "") {
  int ran = 0;
  for (const json& c : reference().at("nn")) {
    const std::string op = c.at("op").get<std::string>();
    auto it = ops.find(op);
    if (it == ops.end() || (!only.empty() && op != only)) continue;
    if ((c.at("name").get<std::string>().rfind("f32_", 0) == 0) != float32) continue;
    test::torch_ref::run_case(c, dev, it->second);
    ++ran;
  }
  return ran;
}

// Composed of tensor ops, so they run on every device.
class TorchReferenceCnnLayers : public test::DeviceTest {};

TEST_P(TorchReferenceCnnLayers, GroupNorm) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run(dev(), functional_ops(), false, "group_norm"), 4);
  EXPECT_EQ(run(dev(), functional_ops(), true, "group_norm"), 1);
  EXPECT_EQ(run(dev(), module_ops(), false, "group_norm"), 4);
  EXPECT_EQ(run(dev(), module_ops(), true, "group_norm"), 1);
}

TEST_P(TorchReferenceCnnLayers, Interpolate) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run(dev(), functional_ops(), false, "interpolate"), 10);
  EXPECT_EQ(run(dev(), functional_ops(), true, "interpolate"), 2);
  EXPECT_EQ(run(dev(), module_ops(), false, "interpolate"), 10);
  EXPECT_EQ(run(dev(), module_ops(), true, "interpolate"), 2);
}

INSTANTIATE_DEVICE_TESTS(TorchReferenceCnnLayers);

// On the conv2d stubs, so on the devices the conv family has kernels for.
class TorchReferenceConvTranspose : public test::DeviceTest {};

TEST_P(TorchReferenceConvTranspose, FunctionalAndLayer) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run(dev(), functional_ops(), false, "conv_transpose2d"), 5);
  EXPECT_EQ(run(dev(), functional_ops(), true, "conv_transpose2d"), 2);
  EXPECT_EQ(run(dev(), module_ops(), false, "conv_transpose2d"), 5);
  EXPECT_EQ(run(dev(), module_ops(), true, "conv_transpose2d"), 2);
}

INSTANTIATE_CONV_FAMILY_TESTS(TorchReferenceConvTranspose);
}  // namespace
}  // namespace kiln
