// state_dict / load_state_dict: round trips, in-place copies across dtypes and devices, and strict-mode errors.
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/container.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/module.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {

class NNStateDict : public DeviceTest {};

nn::Sequential make_model() { return nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::LayerNorm(4), nn::Linear(4, 2)); }

TEST_P(NNStateDict, RoundTripRestoresOutputs) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(1);
  auto a = make_model();
  manual_seed(2);
  auto b = make_model();
  a->to(dev());
  StateDict sd = a->state_dict();
  std::vector<std::string> keys;
  for (const auto& kv : sd) keys.push_back(kv.first);
  EXPECT_EQ(keys, (std::vector<std::string>{"0.bias", "0.weight", "2.bias", "2.weight", "3.bias", "3.weight"}));
  for (const auto& kv : sd) EXPECT_FALSE(kv.second.requires_grad()) << kv.first;
  // state_dict shares storage: it is a view of the live parameters, as in torch.
  EXPECT_EQ(sd.at("0.weight").data_ptr(), a->ptr<nn::LinearImpl>(0)->weight.data_ptr());

  Tensor x = rnd({5, 3}, dev(), kFloat32);
  Tensor before_b = b->forward(rnd({5, 3}, Device("cpu"), kFloat32));
  auto w_handle = b->ptr<nn::LinearImpl>(3)->weight;
  b->load_state_dict(sd);  // b is on the CPU: values are copied across devices, in place
  EXPECT_TRUE(b->ptr<nn::LinearImpl>(3)->weight.is_same(w_handle));
  EXPECT_TRUE(b->ptr<nn::LinearImpl>(3)->weight.is_cpu());
  expect_close(b->forward(x.cpu()), a->forward(x).cpu());
  EXPECT_FALSE(values(b->forward(x.cpu())) == values(before_b));
}

TEST_P(NNStateDict, LoadConvertsDType) {
  KILN_SKIP_IF_NO_DEVICE();
  auto a = make_model();
  a->to(dev(), kFloat64);
  auto b = make_model();
  b->to(dev());
  b->load_state_dict(a->state_dict());
  for (const auto& p : b->parameters()) EXPECT_EQ(p.dtype(), kFloat32);
  Tensor x = rnd({2, 3}, dev(), kFloat64);
  expect_close(b->forward(x.to(kFloat32)), a->forward(x), 1e-5, 1e-5);
}

TEST_P(NNStateDict, StrictErrorListsEveryProblem) {
  KILN_SKIP_IF_NO_DEVICE();
  auto model = make_model();
  StateDict sd = model->state_dict();
  sd.erase("0.bias");
  sd.erase("3.weight");
  sd["extra.weight"] = zeros({1});
  sd["2.weight"] = zeros({5});
  std::vector<double> before = values(model->ptr<nn::LinearImpl>(0)->weight);
  sd["0.weight"] = ones({4, 3});
  EXPECT_THROW_WITH(model->load_state_dict(sd), ValueError, "Error(s) in loading state_dict for Sequential",
                    "Missing key(s)", "\"0.bias\"", "\"3.weight\"", "Unexpected key(s)", "\"extra.weight\"",
                    "size mismatch for 2.weight", "[5]", "[4]");
  // Nothing was copied: the valid 0.weight entry did not land either.
  EXPECT_EQ(values(model->ptr<nn::LinearImpl>(0)->weight), before);
}

// The keys may come from a damaged or hostile checkpoint: the message names ten of them, each cut short.
TEST(NNStateDictMessage, ManyOrLongUnexpectedKeysAreSummarised) {
  auto model = make_model();
  StateDict sd = model->state_dict();
  for (int i = 0; i < 1000; ++i) sd["extra" + std::to_string(i) + std::string(i == 0 ? 10000 : 0, 'x')] = zeros({1});
  const std::string msg = message_of([&] { model->load_state_dict(sd); });
  EXPECT_NE(msg.find("Unexpected key(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("and 990 more"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 2000u) << msg;
}

TEST_P(NNStateDict, NonStrictIgnoresMissingAndUnexpectedButNotShapes) {
  KILN_SKIP_IF_NO_DEVICE();
  auto model = make_model();
  model->to(dev());
  StateDict partial;
  partial["0.weight"] = full({4, 3}, 0.5, opts());
  partial["head.weight"] = zeros({2});
  model->load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(values(model->ptr<nn::LinearImpl>(0)->weight), std::vector<double>(12, 0.5));
  partial["3.bias"] = zeros({7});
  EXPECT_THROW_WITH(model->load_state_dict(partial, false), ValueError, "size mismatch for 3.bias", "[7]", "[2]");
}

TEST_P(NNStateDict, BuffersAreIncluded) {
  KILN_SKIP_IF_NO_DEVICE();
  auto m = std::make_shared<nn::Module>("Stats");
  m->register_buffer("running_mean", zeros({3}));
  m->register_buffer("count", zeros({}, TensorOptions(kInt64)));
  m->to(dev());
  StateDict sd;
  sd["running_mean"] = tensor(std::vector<double>{1, 2, 3}, {3});
  sd["count"] = scalar_tensor(7, TensorOptions(kInt64));
  m->load_state_dict(sd);
  EXPECT_EQ(values(m->buffers()[0]), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(m->buffers()[0].dtype(), kFloat32);
  EXPECT_EQ(m->buffers()[1].item<int64_t>(), 7);
  EXPECT_EQ(m->buffers()[0].device(), resolve_device(dev()));
  EXPECT_EQ(m->state_dict().size(), 2u);
}

TEST_P(NNStateDict, ToDeviceKeepsIdentity) {
  KILN_SKIP_IF_NO_DEVICE();
  auto model = make_model();
  auto params = model->parameters();
  auto before = values(params[0]);
  model->to(dev());
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i].device(), resolve_device(dev()));
    EXPECT_TRUE(params[i].is_same(model->parameters()[i]));
  }
  EXPECT_EQ(values(params[0]), before);
  model->to(Device("cpu"));
  EXPECT_TRUE(params[0].is_cpu());
}

INSTANTIATE_DEVICE_TESTS(NNStateDict);
}  // namespace
}  // namespace kiln::test
