// nn::Module: registration, traversal order, names, modes, zero_grad, to() keeping parameter identity, printing.
#include <sstream>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/dropout.h"
#include "kiln/nn/layers/embedding.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/module.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

// A user-defined module, written the libtorch way.
struct NetImpl : nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", nn::Linear(4, 8));
    fc2 = register_module("fc2", nn::Linear(8, 2));
    scale = register_parameter("scale", ones({2}));
    register_buffer("steps", zeros({1}, TensorOptions(kInt64)));
  }
  Tensor forward(const Tensor& x) { return mul(fc2->forward(relu(fc1->forward(x))), scale); }
  nn::Linear fc1{nullptr}, fc2{nullptr};
  Tensor scale;
};
KILN_MODULE(Net);

std::vector<std::string> names(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& kv : named) out.push_back(kv.first);
  return out;
}

TEST(NNModule, NamedParametersAreDottedAndInRegistrationOrder) {
  Net net;
  EXPECT_EQ(names(net->named_parameters()),
            (std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(names(net->named_parameters(/*recurse=*/false)), (std::vector<std::string>{"scale"}));
  EXPECT_EQ(names(net->named_buffers()), (std::vector<std::string>{"steps"}));
  EXPECT_EQ(net->parameters().size(), 5u);
  EXPECT_TRUE(net->parameters()[1].is_same(net->fc1->weight));
  for (const auto& p : net->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_FALSE(net->buffers()[0].requires_grad());
  auto children = net->named_children();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].first, "fc1");
  EXPECT_EQ(children[1].second.get(), net->fc2.get());
  auto mods = net->named_modules();
  ASSERT_EQ(mods.size(), 3u);
  EXPECT_EQ(mods[0].first, "");
  EXPECT_EQ(mods[0].second.get(), net.get());
  EXPECT_EQ(mods[2].first, "fc2");
  EXPECT_EQ(net->modules(/*include_self=*/false).size(), 2u);
}

TEST(NNModule, NamesComeFromTheClass) {
  EXPECT_EQ(Net()->name(), "Net");
  EXPECT_EQ(nn::Linear(1, 1)->name(), "Linear");
  EXPECT_EQ(nn::Sequential()->name(), "Sequential");
  nn::Module custom("MyBlock");
  EXPECT_EQ(custom.name(), "MyBlock");
}

TEST(NNModule, RegistrationErrors) {
  auto m = std::make_shared<nn::Module>();
  m->register_parameter("w", zeros({2}));
  EXPECT_THROW_WITH(m->register_parameter("w", zeros({2})), ValueError, "'w'", "already used");
  EXPECT_THROW_WITH(m->register_buffer("w", zeros({2})), ValueError, "already used");
  EXPECT_THROW_WITH(m->register_module("w", nn::Linear(1, 1)), ValueError, "already used");
  EXPECT_THROW_WITH(m->register_parameter("a.b", zeros({2})), ValueError, "'.'");
  EXPECT_THROW_WITH(m->register_parameter("", zeros({2})), ValueError, "empty");
  EXPECT_THROW(m->register_parameter("ints", zeros({2}, TensorOptions(kInt64))), DTypeError);
  // Non-trainable and placeholder parameters.
  m->register_parameter("frozen", zeros({3}), /*requires_grad=*/false);
  m->register_parameter("none", Tensor());
  EXPECT_EQ(names(m->named_parameters()), (std::vector<std::string>{"w", "frozen"}));
  EXPECT_FALSE(m->parameters()[1].requires_grad());
  // An empty holder cannot be used or registered.
  nn::Linear empty{nullptr};
  EXPECT_TRUE(empty.is_empty());
  EXPECT_THROW(empty->forward(zeros({1, 1})), ValueError);
  EXPECT_THROW(m->register_module("e", empty), ValueError);
}

TEST(NNModule, SharedParametersAreListedOnce) {
  auto m = std::make_shared<nn::Module>();
  nn::Linear a(3, 3);
  auto b = m->register_module("b", nn::Linear(3, 3));
  m->register_module("a", a);
  m->register_parameter("tied", a->weight);  // the same tensor under a second name
  auto params = m->named_parameters();
  EXPECT_EQ(names(params), (std::vector<std::string>{"tied", "b.weight", "b.bias", "a.bias"}));
  // state_dict keeps every name.
  EXPECT_EQ(m->state_dict().count("a.weight"), 1u);
}

TEST(NNModule, TrainEvalPropagates) {
  Net net;
  EXPECT_TRUE(net->is_training());
  net->eval();
  EXPECT_FALSE(net->is_training());
  EXPECT_FALSE(net->fc1->is_training());
  net->train();
  EXPECT_TRUE(net->fc2->is_training());
  int visited = 0;
  net->apply([&](nn::Module&) { ++visited; });
  EXPECT_EQ(visited, 3);
}

TEST(NNModule, ZeroGrad) {
  Net net;
  Tensor x = randn({3, 4});
  sum(net->forward(x)).backward();
  ASSERT_TRUE(net->fc1->weight.grad().defined());
  net->zero_grad(/*set_to_none=*/false);
  EXPECT_EQ(values(net->fc1->weight.grad()), std::vector<double>(32, 0.0));
  net->zero_grad();
  EXPECT_FALSE(net->fc1->weight.grad().defined());
}

TEST(NNModule, ToDTypeKeepsParameterIdentity) {
  manual_seed(0);
  Net net;
  std::vector<const TensorImpl*> before;
  for (const auto& p : net->parameters()) before.push_back(p.impl());
  Tensor w = net->fc1->weight;  // a handle held elsewhere, like an optimizer's
  auto w_values = values(w);
  optim::SGD opt(net->parameters(), optim::SGDOptions(0.1));
  net->to(kFloat64);
  auto after = net->parameters();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].impl(), before[i]);
    EXPECT_EQ(after[i].dtype(), kFloat64);
    EXPECT_TRUE(after[i].requires_grad());
    EXPECT_TRUE(after[i].is_leaf());
  }
  EXPECT_EQ(w.dtype(), kFloat64);
  EXPECT_EQ(values(w), w_values);
  EXPECT_EQ(net->buffers()[0].dtype(), kInt64);  // integer buffers are not cast
  // The optimizer built before the cast still updates the module's parameters.
  Tensor x = randn({5, 4}, TensorOptions(kFloat64));
  opt.zero_grad();
  sum(net->forward(x)).backward();
  EXPECT_EQ(net->fc1->weight.grad().dtype(), kFloat64);
  opt.step();
  auto stepped = values(net->fc1->weight);
  auto grad = values(net->fc1->weight.grad());
  for (size_t i = 0; i < stepped.size(); ++i) EXPECT_NEAR(stepped[i], w_values[i] - 0.1 * grad[i], 1e-12);
  EXPECT_THROW_WITH(net->to(kInt32), DTypeError, "floating");
}

TEST(NNModule, ToMovesGradientsToo) {
  Net net;
  sum(net->forward(randn({2, 4}))).backward();
  net->to(kFloat64);
  EXPECT_EQ(net->fc2->bias.grad().dtype(), kFloat64);
  // A second backward in the new dtype accumulates into the moved gradient.
  sum(net->forward(randn({2, 4}, TensorOptions(kFloat64)))).backward();
  EXPECT_EQ(net->fc2->bias.grad().dtype(), kFloat64);
}

TEST(NNModule, PrettyPrintLikePyTorch) {
  auto model = nn::Sequential(nn::Linear(10, 64), nn::ReLU(), nn::Dropout(0.25), nn::Linear(64, 1, false));
  std::ostringstream os;
  os << *model;
  EXPECT_EQ(os.str(),
            "Sequential(\n"
            "  (0): Linear(in_features=10, out_features=64, bias=True)\n"
            "  (1): ReLU()\n"
            "  (2): Dropout(p=0.25, inplace=False)\n"
            "  (3): Linear(in_features=64, out_features=1, bias=False)\n"
            ")");
  std::ostringstream nested;
  nested << Net();
  EXPECT_EQ(nested.str(),
            "Net(\n"
            "  (fc1): Linear(in_features=4, out_features=8, bias=True)\n"
            "  (fc2): Linear(in_features=8, out_features=2, bias=True)\n"
            ")");
  std::ostringstream leaves;
  leaves << nn::LayerNorm(8) << " " << nn::Embedding(10, 3, 0) << " " << nn::Softmax(1) << " "
         << nn::LeakyReLU(0.2) << " " << nn::GELU("tanh");
  EXPECT_EQ(leaves.str(),
            "LayerNorm((8,), eps=1e-05, elementwise_affine=True) Embedding(10, 3, padding_idx=0) Softmax(dim=1) "
            "LeakyReLU(negative_slope=0.2) GELU(approximate='tanh')");
}

TEST(NNModule, SummaryCountsParameters) {
  auto model = nn::Sequential(nn::Linear(10, 64), nn::ReLU(), nn::Linear(64, 1));
  auto s = nn::summary(*model);
  EXPECT_EQ(s.total_params, 769);
  EXPECT_EQ(s.trainable_params, 769);
  EXPECT_EQ(s.non_trainable_params(), 0);
  ASSERT_EQ(s.rows.size(), 4u);
  EXPECT_EQ(s.rows[1].name, "0");
  EXPECT_EQ(s.rows[1].type, "Linear");
  EXPECT_EQ(s.rows[1].params, 704);
  EXPECT_EQ(s.rows[3].params, 65);
  std::string text = s.str();
  EXPECT_NE(text.find("Total params: 769"), std::string::npos) << text;
  EXPECT_NE(text.find("0 (Linear)"), std::string::npos) << text;
  // Frozen parameters are counted but not as trainable.
  model->ptr<nn::LinearImpl>(2)->bias.requires_grad_(false);
  EXPECT_EQ(nn::summary(*model).trainable_params, 768);
  std::ostringstream os;
  os << nn::summary(*model);
  EXPECT_NE(os.str().find("Non-trainable params: 1"), std::string::npos);
}
}  // namespace
}  // namespace kiln::test
