// Tensor and module printing against PyTorch 1.13's repr (tests/data/print_reference.json, written by
// scripts/gen_print_reference.py): notation, widths, wrapping, summaries, suffixes, module reprs.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "json_reference.h"
#include "kiln/nn/nn.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "gpu_skip.h"
#include "test_util.h"

using namespace kiln;
using json = nlohmann::json;

namespace {

const json& reference() {
  static const json data = test::load_json_reference("print_reference.json", "scripts/gen_print_reference.py");
  return data;
}


// The case's tensor, with its autograd step applied as the generator did.
Tensor build(const json& c, const Device& dev) {
  const DType dtype = parse_dtype(c["dtype"].get<std::string>());
  const Shape shape = c["shape"].get<Shape>();
  TensorOptions opts = TensorOptions(dtype).device(dev);
  Tensor t;
  if (is_floating_point(dtype)) {
    std::vector<double> v;
    for (const json& x : c["data"]) v.push_back(test::json_number(x));
    t = tensor(v, shape, opts);
  } else {
    t = tensor(c["data"].get<std::vector<int64_t>>(), shape, opts);
  }
  if (c["autograd"].is_null()) return t;
  const std::string step = c["autograd"].get<std::string>();
  Tensor x = t.clone().requires_grad_(true);
  if (step == "requires_grad") return x;
  if (step == "add") return x + x;
  if (step == "mul") return x * x;
  if (step == "neg") return -x;
  if (step == "sum") return x.sum();
  if (step == "sum_dim") return x.sum(0);
  if (step == "mean") return x.mean();
  if (step == "max") return x.max();
  if (step == "max_dim") return std::get<0>(x.max(0));
  if (step == "select") return x.select(0, 0);
  if (step == "view") return x.view({-1});
  throw std::runtime_error("unknown autograd step " + step);
}

TEST(TensorPrint, MatchesPyTorchRepr) {
  for (const json& c : reference()["tensors"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(build(c, Device("cpu")).str(), c["expected"].get<std::string>());
  }
}

// On a GPU the text is the CPU's with torch's device suffix first among the suffixes.
TEST(TensorPrint, DeviceSuffix_cuda) {
  KILN_SKIP_WITHOUT_GPU();
  for (const json& c : reference()["tensors"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string cpu = build(c, Device("cpu")).str();
    const std::string gpu = build(c, Device("cuda:0")).str();
    EXPECT_NE(gpu.find("device='cuda:0'"), std::string::npos) << gpu;
    EXPECT_EQ(gpu.substr(0, cpu.find('[') + 1), cpu.substr(0, cpu.find('[') + 1));
  }
}

TEST(TensorPrint, StreamOperatorAndUndefined) {
  std::ostringstream os;
  os << tensor({1.0f, 2.5f});
  EXPECT_EQ(os.str(), "tensor([1.0000, 2.5000])");
  EXPECT_EQ(Tensor().str(), "tensor(undefined)");
}

// A huge tensor prints only what is shown: the formatter reads the summarised elements.
TEST(TensorPrint, SummaryOfALargeTensorIsShort) {
  const std::string s = arange(1000000).reshape({1000, 1000}).str();
  EXPECT_LT(s.size(), 600u) << s;
  EXPECT_NE(s.find("999999"), std::string::npos);
}

std::map<std::string, std::function<std::string()>> module_recipes() {
  auto text = [](auto m) {
    std::ostringstream os;
    os << *m;
    return os.str();
  };
  return {
      {"linear", [=] { return text(nn::Linear(3, 4)); }},
      {"linear_no_bias", [=] { return text(nn::Linear(3, 4, false)); }},
      {"layer_norm", [=] { return text(nn::LayerNorm(3)); }},
      {"layer_norm_2d", [=] { return text(nn::LayerNorm(Shape{2, 3}, 1e-6, false)); }},
      {"relu", [=] { return text(nn::ReLU()); }},
      {"leaky_relu", [=] { return text(nn::LeakyReLU(0.2)); }},
      {"gelu", [=] { return text(nn::GELU()); }},
      {"gelu_tanh", [=] { return text(nn::GELU("tanh")); }},
      {"silu", [=] { return text(nn::SiLU()); }},
      {"tanh", [=] { return text(nn::Tanh()); }},
      {"sigmoid", [=] { return text(nn::Sigmoid()); }},
      {"softmax", [=] { return text(nn::Softmax(1)); }},
      {"log_softmax", [=] { return text(nn::LogSoftmax(-1)); }},
      {"dropout", [=] { return text(nn::Dropout(0.5)); }},
      {"dropout_small", [=] { return text(nn::Dropout(0.1)); }},
      {"embedding", [=] { return text(nn::Embedding(10, 3)); }},
      {"embedding_padding", [=] { return text(nn::Embedding(10, 3, 0)); }},
      {"flatten", [=] { return text(nn::Flatten()); }},
      {"bilinear", [=] { return text(nn::Bilinear(2, 3, 4)); }},
      {"sequential",
       [=] { return text(nn::Sequential(nn::Linear(784, 256), nn::ReLU(), nn::Dropout(0.2), nn::Linear(256, 10))); }},
      {"nested_sequential",
       [=] { return text(nn::Sequential(nn::Sequential(nn::Linear(2, 2), nn::Tanh()), nn::LayerNorm(2))); }},
      {"empty_sequential", [=] { return text(nn::Sequential()); }},
  };
}

TEST(ModulePrint, MatchesPyTorchRepr) {
  const auto recipes = module_recipes();
  for (const json& c : reference()["modules"]) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    auto it = recipes.find(name);
    ASSERT_NE(it, recipes.end()) << "no kiln recipe for the reference module " << name;
    EXPECT_EQ(it->second(), c["expected"].get<std::string>());
  }
}

}  // namespace
