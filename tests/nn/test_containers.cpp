// Sequential, ModuleList, Functional and ModuleHolder semantics; an end-to-end training step on every device.
#include <sstream>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/module.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;

class NNContainers : public DeviceTest {};

TEST(NNContainer, SequentialChainsForward) {
  manual_seed(3);
  auto model = nn::Sequential(nn::Linear(10, 64), nn::ReLU(), nn::Linear(64, 1));
  EXPECT_EQ(model->size(), 3u);
  Tensor x = randn({8, 10});
  auto l0 = model->ptr<nn::LinearImpl>(0), l2 = model->ptr<nn::LinearImpl>(2);
  expect_close(model->forward(x), l2->forward(relu(l0->forward(x))));
  expect_close(model(x), model->forward(x));
  EXPECT_EQ(model[0].get(), l0.get());
  EXPECT_EQ((*model)[-1].get(), l2.get());
  EXPECT_THROW_WITH(model[3], IndexError, "index 3", "3 module(s)");
  EXPECT_THROW_WITH(model->ptr<nn::ReLUImpl>(0), ValueError, "Linear");
  std::vector<std::string> types;
  for (const auto& m : *model) types.push_back(m->name());
  EXPECT_EQ(types, (std::vector<std::string>{"Linear", "ReLU", "Linear"}));
  EXPECT_EQ(model->parameters().size(), 4u);
  EXPECT_EQ(model->named_parameters()[2].first, "2.weight");
}

TEST(NNContainer, SequentialPushBackNamedAndShared) {
  nn::Sequential seq;
  EXPECT_TRUE(seq->is_empty());
  EXPECT_THROW_WITH(seq->forward(zeros({1})), ValueError, "empty");
  nn::Linear shared(2, 2);
  seq->push_back(shared);
  seq->push_back("act", nn::Tanh());
  seq->push_back(std::make_shared<nn::LinearImpl>(2, 3));
  seq->push_back(nn::Functional([](const Tensor& x) { return mul(x, 2.0); }, "double"));
  EXPECT_EQ(seq->named_children()[1].first, "act");
  EXPECT_EQ(seq->named_children()[2].first, "2");
  // Holders share: the Sequential holds the very module `shared` points to.
  EXPECT_EQ(seq[0].get(), shared.get());
  Tensor x = randn({4, 2});
  Tensor expected = mul(seq->ptr<nn::LinearImpl>(2)->forward(tanh(shared->forward(x))), 2.0);
  expect_close(seq->forward(x), expected);
  // A module whose forward takes two tensors can be stored but not chained.
  seq->push_back(nn::Bilinear(3, 3, 1));
  EXPECT_THROW_WITH(seq->forward(x), ValueError, "Bilinear", "single tensor");
  EXPECT_THROW(seq->push_back("act", nn::ReLU()), ValueError);
}

TEST(NNContainer, NestedSequentialNamesAndPrinting) {
  auto block = nn::Sequential(nn::Linear(4, 4), nn::GELU());
  auto model = nn::Sequential(block, nn::LayerNorm(4), nn::Linear(4, 2));
  std::vector<std::string> names;
  for (const auto& kv : model->named_parameters()) names.push_back(kv.first);
  EXPECT_EQ(names, (std::vector<std::string>{"0.0.weight", "0.0.bias", "1.weight", "1.bias", "2.weight", "2.bias"}));
  std::ostringstream os;
  os << model;
  EXPECT_EQ(os.str(),
            "Sequential(\n"
            "  (0): Sequential(\n"
            "    (0): Linear(in_features=4, out_features=4, bias=True)\n"
            "    (1): GELU(approximate='none')\n"
            "  )\n"
            "  (1): LayerNorm((4,), eps=1e-05, elementwise_affine=True)\n"
            "  (2): Linear(in_features=4, out_features=2, bias=True)\n"
            ")");
  EXPECT_EQ(nn::summary(*model).total_params, 20 + 8 + 10);
}

TEST(NNContainer, ModuleListRegistersButHasNoForward) {
  nn::ModuleList list(nn::Linear(3, 3), nn::ReLU());
  list->push_back(nn::Linear(3, 1));
  EXPECT_EQ(list->size(), 3u);
  EXPECT_EQ(list->parameters().size(), 4u);
  EXPECT_EQ(list[2]->name(), "Linear");
  EXPECT_EQ(list->ptr<nn::LinearImpl>(2)->out_features, 1);
  nn::ModuleList more;
  more->extend(*list);
  EXPECT_EQ(more->size(), 3u);
  EXPECT_EQ(more[0].get(), list[0].get());
  Tensor h = randn({2, 3});
  for (const auto& m : *list)
    if (auto lin = std::dynamic_pointer_cast<nn::LinearImpl>(m)) h = lin->forward(h);
  EXPECT_EQ(h.sizes(), (Shape{2, 1}));
  EXPECT_THROW(list[-4], IndexError);
  // A module owning the list sees its parameters under the list's name.
  auto owner = std::make_shared<nn::Module>("Owner");
  owner->register_module("layers", list);
  EXPECT_EQ(owner->named_parameters()[0].first, "layers.0.weight");
}

TEST(NNContainer, HolderCopiesShareTheModule) {
  nn::Linear a(2, 2);
  nn::Linear b = a;
  EXPECT_EQ(a.get(), b.get());
  nn::Linear c{nullptr};
  EXPECT_FALSE(static_cast<bool>(c));
  c = a.ptr();
  EXPECT_EQ(c.get(), a.get());
  const nn::Linear& ca = a;
  EXPECT_EQ(ca->in_features, 2);
}

TEST_P(NNContainers, TrainingStepReducesLossOnDevice) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(0);
  auto model = nn::Sequential(nn::Linear(10, 64), nn::ReLU(), nn::Linear(64, 1));
  model->to(dev());
  Tensor x = rnd({32, 10}, dev(), kFloat32, 1);
  Tensor y = rnd({32, 1}, dev(), kFloat32, 2);
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    model->zero_grad();
    Tensor loss = F::mse_loss(model->forward(x), y);
    loss.backward();
    NoGradGuard g;
    for (auto& p : model->parameters()) p.sub_(mul(p.grad(), 0.05));
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first);
  for (const auto& p : model->parameters()) EXPECT_EQ(p.device(), resolve_device(dev()));
}

TEST_P(NNContainers, SequentialGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  auto model = nn::Sequential(nn::Linear(3, 4), nn::Tanh(), nn::LayerNorm(4), nn::Linear(4, 2));
  model->to(dev(), kFloat64);
  Tensor x = leaf(rnd({2, 3}, dev()));
  gradcheck_module(*model, {x}, [&](const std::vector<Tensor>& in) { return model->forward(in[0]); });
}

INSTANTIATE_DEVICE_TESTS(NNContainers);
}  // namespace
}  // namespace kiln::test
