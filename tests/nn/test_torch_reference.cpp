// nn layers (as modules loaded with torch's weights, and as functionals) and losses against PyTorch's outputs
// and gradients in tests/data/torch_reference.json (made by scripts/gen_torch_reference.py), on every device.
#include <functional>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kiln/autograd/autograd.h"
#include "kiln/io/serialize.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/embedding.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/module.h"
#include "kiln/tensor/tensor.h"
#include "ops/torch_reference_runner.h"
#include "test_device.h"

namespace kiln {
namespace {
using autograd::TensorList;
using test::torch_ref::json;
using test::torch_ref::OpFn;
using Ops = std::map<std::string, OpFn>;
namespace F = nn::functional;

std::string reduction(const json& a) { return a.at("reduction").get<std::string>(); }
std::optional<int64_t> padding_idx(const json& a) {
  return a.at("padding_idx").is_null() ? std::nullopt : std::optional<int64_t>(a["padding_idx"].get<int64_t>());
}

// Moves a module to the inputs' device and dtype and loads torch's values into its parameters; the
// parameters then replace the inputs as the tensors the gradients are taken against.
void load(nn::Module& m, TensorList& inputs, const std::vector<std::pair<size_t, Tensor*>>& params) {
  const Tensor& x = inputs[0].is_floating_point() ? inputs[0] : inputs[params.front().first];
  m.to(x.device(), x.dtype());
  NoGradGuard g;
  for (auto& [i, p] : params) {
    if (!inputs[i].defined()) continue;
    p->copy_(inputs[i]);
    inputs[i] = *p;
  }
}

const Ops& module_ops() {
  static const Ops ops = {
      {"nn.Linear", [](TensorList& x, const json&) {
         nn::Linear m(x[1].size(1), x[1].size(0), x[2].defined());
         load(*m, x, {{1, &m->weight}, {2, &m->bias}});
         return TensorList{m->forward(x[0])};
       }},
      {"nn.LayerNorm", [](TensorList& x, const json& a) {
         nn::LayerNorm m(a.at("normalized_shape").get<Shape>(), a.at("eps").get<double>(), x[1].defined());
         load(*m, x, {{1, &m->weight}, {2, &m->bias}});
         return TensorList{m->forward(x[0])};
       }},
      {"nn.Embedding", [](TensorList& x, const json& a) {
         nn::Embedding m(x[1].size(0), x[1].size(1), padding_idx(a));
         load(*m, x, {{1, &m->weight}});
         return TensorList{m->forward(x[0])};
       }},
      {"nn.Bilinear", [](TensorList& x, const json&) {
         nn::Bilinear m(x[2].size(1), x[2].size(2), x[2].size(0), x[3].defined());
         load(*m, x, {{2, &m->weight}, {3, &m->bias}});
         return TensorList{m->forward(x[0], x[1])};
       }},
  };
  return ops;
}

// A table entry computing the op's output from the inputs x and the case's args a.
#define REF_OP(...) [](TensorList & x, [[maybe_unused]] const json& a) -> TensorList { return {__VA_ARGS__}; }

const Ops& functional_layer_ops() {
  static const Ops ops = {
      {"nn.Linear", REF_OP(F::linear(x[0], x[1], x[2]))},
      {"nn.LayerNorm",
       REF_OP(F::layer_norm(x[0], a["normalized_shape"].get<Shape>(), x[1], x[2], a["eps"].get<double>()))},
      {"nn.Embedding", REF_OP(F::embedding(x[0], x[1], padding_idx(a)))},
      {"nn.Bilinear", REF_OP(F::bilinear(x[0], x[1], x[2], x[3]))},
  };
  return ops;
}

const Ops& loss_ops() {
  static const Ops ops = {
      {"mse_loss", REF_OP(F::mse_loss(x[0], x[1], reduction(a)))},
      {"l1_loss", REF_OP(F::l1_loss(x[0], x[1], reduction(a)))},
      {"smooth_l1_loss", REF_OP(F::smooth_l1_loss(x[0], x[1], reduction(a), a["beta"].get<double>()))},
      {"cross_entropy", REF_OP(F::cross_entropy(x[0], x[1], x[2], a["ignore_index"].get<int64_t>(), reduction(a),
                                                a["label_smoothing"].get<double>()))},
      {"nll_loss", REF_OP(F::nll_loss(x[0], x[1], x[2], a["ignore_index"].get<int64_t>(), reduction(a)))},
      {"binary_cross_entropy", REF_OP(F::binary_cross_entropy(x[0], x[1], x[2], reduction(a)))},
      {"bce_with_logits", REF_OP(F::binary_cross_entropy_with_logits(x[0], x[1], x[2], reduction(a), x[3]))},
  };
  return ops;
}
#undef REF_OP

// Cases of the "nn" section fall in groups by name prefix: "f32_" (float32), "edge_" (all targets ignored,
// saturated probabilities, |d| exactly at beta) and the float64 main cases.
enum class Group { Main, Float32, Edge };
Group group_of(const std::string& name) {
  if (name.rfind("f32_", 0) == 0) return Group::Float32;
  if (name.rfind("edge_", 0) == 0) return Group::Edge;
  return Group::Main;
}

// Runs the cases of one group whose op is in ops; returns how many ran.
int run_nn(Device dev, const Ops& ops, Group group) {
  int ran = 0;
  for (const json& c : test::torch_ref::reference().at("nn")) {
    auto it = ops.find(c.at("op").get<std::string>());
    if (it == ops.end() || group_of(c.at("name").get<std::string>()) != group) continue;
    test::torch_ref::run_case(c, dev, it->second);
    ++ran;
  }
  return ran;
}

Ops losses(std::initializer_list<const char*> names) {
  Ops ops;
  for (const char* op : names) ops[op] = loss_ops().at(op);
  return ops;
}

class TorchReferenceNN : public test::DeviceTest {};

TEST_P(TorchReferenceNN, LayerModules) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run_nn(dev(), module_ops(), Group::Main), 9);
}

TEST_P(TorchReferenceNN, LayerFunctionals) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run_nn(dev(), functional_layer_ops(), Group::Main), 9);
}

TEST_P(TorchReferenceNN, RegressionLosses) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run_nn(dev(), losses({"mse_loss", "l1_loss", "smooth_l1_loss"}), Group::Main), 12);
}

TEST_P(TorchReferenceNN, CrossEntropyAndNLL) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run_nn(dev(), losses({"cross_entropy", "nll_loss"}), Group::Main), 36);
}

TEST_P(TorchReferenceNN, BinaryCrossEntropy) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_EQ(run_nn(dev(), losses({"binary_cross_entropy", "bce_with_logits"}), Group::Main), 15);
}

TEST_P(TorchReferenceNN, LossEdgeCases) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GE(run_nn(dev(), loss_ops(), Group::Edge), 10);
}

TEST_P(TorchReferenceNN, Float32Path) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_GE(run_nn(dev(), module_ops(), Group::Float32) + run_nn(dev(), loss_ops(), Group::Float32), 4);
}

// Every op of the "nn" section has a handler, so no case is silently skipped.
TEST(TorchReferenceFile, EveryNNOpHasAHandler) {
  for (const json& c : test::torch_ref::reference().at("nn")) {
    const std::string op = c.at("op").get<std::string>();
    EXPECT_TRUE(module_ops().count(op) || loss_ops().count(op)) << "op '" << op << "' has no handler";
  }
}

INSTANTIATE_DEVICE_TESTS(TorchReferenceNN);
}  // namespace
}  // namespace kiln
