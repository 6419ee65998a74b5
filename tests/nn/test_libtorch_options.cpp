// libtorch's option spellings on the nn side: nn::LinearOptions and the other module options, F::...FuncOptions
// for the functional losses and activations (each against the positional call), torch::nll_loss-style free
// functions, Sequential's typed access (ptr, at<T>, as<T>).
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "kiln/core/error.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/dropout.h"
#include "kiln/nn/layers/embedding.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/loss.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "test_util.h"

namespace kiln {
namespace {
namespace F = kiln::nn::functional;
using test::expect_close;

TEST(LibtorchOptions, LinearOptions) {
  nn::Linear fc(nn::LinearOptions(3, 2).bias(false));
  EXPECT_FALSE(fc->bias.defined());
  EXPECT_EQ(fc->parameters().size(), 1u);
  EXPECT_EQ(fc->weight.sizes(), (Shape{2, 3}));
  nn::Linear with(nn::LinearOptions(3, 2));
  EXPECT_TRUE(with->bias.defined());
  EXPECT_EQ(fc->forward(ones({4, 3})).sizes(), (Shape{4, 2}));
}

TEST(LibtorchOptions, FunctionalOptionsMatchThePositionalCalls) {
  Generator gen(7);
  Tensor x = randn({4, 3}, {}, &gen), y = randn({4, 3}, {}, &gen);
  Tensor labels = tensor({0, 2, 1, 2});
  Tensor w = rand({3}, {}, &gen);
  expect_close(F::cross_entropy(x, labels, F::CrossEntropyFuncOptions().label_smoothing(0.1)),
               F::cross_entropy(x, labels, Tensor(), -100, kMean, 0.1), 0, 0);
  expect_close(F::cross_entropy(x, labels, F::CrossEntropyFuncOptions().weight(w).reduction(kSum).ignore_index(1)),
               F::cross_entropy(x, labels, w, 1, kSum), 0, 0);
  expect_close(F::mse_loss(x, y, F::MSELossFuncOptions().reduction(kSum)), F::mse_loss(x, y, kSum), 0, 0);
  expect_close(F::l1_loss(x, y, F::L1LossFuncOptions().reduction(kNone)), F::l1_loss(x, y, kNone), 0, 0);
  expect_close(F::smooth_l1_loss(x, y, F::SmoothL1LossFuncOptions().beta(0.5)), F::smooth_l1_loss(x, y, kMean, 0.5),
               0, 0);
  Tensor lp = F::log_softmax(x, F::LogSoftmaxFuncOptions(1));
  expect_close(lp, F::log_softmax(x, 1), 0, 0);
  expect_close(F::nll_loss(lp, labels, F::NLLLossFuncOptions().reduction(kSum)), F::nll_loss(lp, labels, Tensor(), -100, kSum),
               0, 0);
  Tensor p = sigmoid(x), t = rand({4, 3}, {}, &gen);
  expect_close(F::binary_cross_entropy(p, t, F::BinaryCrossEntropyFuncOptions().weight(w)),
               F::binary_cross_entropy(p, t, w), 0, 0);
  expect_close(F::binary_cross_entropy_with_logits(x, t, F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(w)),
               F::binary_cross_entropy_with_logits(x, t, Tensor(), kMean, w), 0, 0);
  expect_close(F::softmax(x, F::SoftmaxFuncOptions(0)), F::softmax(x, 0), 0, 0);
  expect_close(F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)), F::leaky_relu(x, 0.2), 0, 0);
  expect_close(F::gelu(x, F::GELUFuncOptions().approximate("tanh")), F::gelu(x, "tanh"), 0, 0);
  expect_close(F::dropout(x, F::DropoutFuncOptions().p(0.3).training(false)), x, 0, 0);
  expect_close(F::layer_norm(x, F::LayerNormFuncOptions({3}).eps(1e-3)), F::layer_norm(x, {3}, Tensor(), Tensor(), 1e-3),
               0, 0);
  Tensor table = randn({5, 2}, {}, &gen);
  expect_close(F::embedding(labels, table, F::EmbeddingFuncOptions().padding_idx(0)), F::embedding(labels, table, 0), 0,
               0);
}

TEST(LibtorchOptions, ModuleOptions) {
  EXPECT_DOUBLE_EQ(nn::Dropout(nn::DropoutOptions().p(0.2))->p, 0.2);
  EXPECT_DOUBLE_EQ(nn::Dropout(0.3)->p, 0.3);
  EXPECT_DOUBLE_EQ(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))->negative_slope, 0.2);
  EXPECT_EQ(nn::GELU(nn::GELUOptions().approximate("tanh"))->approximate, "tanh");
  EXPECT_EQ(nn::Softmax(nn::SoftmaxOptions(0))->dim, 0);
  EXPECT_EQ(nn::LogSoftmax(1)->dim, 1);
  nn::Embedding emb(nn::EmbeddingOptions(10, 3).padding_idx(0));
  EXPECT_EQ(emb->weight.sizes(), (Shape{10, 3}));
  EXPECT_EQ(emb->padding_idx, std::optional<int64_t>(0));
  nn::LayerNorm ln(nn::LayerNormOptions({4}).eps(1e-3).elementwise_affine(false));
  EXPECT_TRUE(ln->parameters().empty());
  EXPECT_EQ(nn::Flatten(nn::FlattenOptions().start_dim(0))->forward(ones({2, 3})).sizes(), (Shape{6}));
  Tensor x = tensor({{0.5, -1.0, 2.0}, {1.0, 0.0, -0.5}}), labels = tensor({2, 0});
  nn::CrossEntropyLoss ce(nn::CrossEntropyLossOptions().label_smoothing(0.1).reduction(kSum));
  expect_close(ce(x, labels), F::cross_entropy(x, labels, Tensor(), -100, kSum, 0.1), 0, 0);
  nn::MSELoss mse{nn::MSELossOptions(kSum)};
  expect_close(mse(x, zeros({2, 3})), F::mse_loss(x, zeros({2, 3}), kSum), 0, 0);
  expect_close(nn::NLLLoss(nn::NLLLossOptions().ignore_index(0))(x, labels), F::nll_loss(x, labels, Tensor(), 0), 0, 0);
  Tensor t = tensor({{1.0, 0.0, 1.0}, {0.0, 1.0, 0.0}});
  expect_close(nn::BCEWithLogitsLoss(nn::BCEWithLogitsLossOptions().reduction(kNone))(x, t),
               F::binary_cross_entropy_with_logits(x, t, Tensor(), kNone), 0, 0);
  expect_close(nn::SmoothL1Loss(nn::SmoothL1LossOptions().beta(0.5))(x, t), F::smooth_l1_loss(x, t, kMean, 0.5), 0, 0);
  // torch::nll_loss(output, target) and torch::dropout(x, p, train), as libtorch's MNIST example writes them.
  expect_close(nll_loss(log_softmax(x, 1), labels), F::nll_loss(log_softmax(x, 1), labels), 0, 0);
  expect_close(dropout(x, 0.5, /*train=*/false), x, 0, 0);
  expect_close(mse_loss(x, t), F::mse_loss(x, t), 0, 0);
}

TEST(LibtorchOptions, SequentialTypedAccess) {
  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  std::shared_ptr<nn::SequentialImpl> impl = seq.ptr();
  EXPECT_EQ(impl->size(), 3u);
  EXPECT_EQ(seq->ptr(1)->name(), "ReLU");
  nn::LinearImpl* first = seq[0]->as<nn::Linear>();  // a holder type names its Impl
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->out_features, 4);
  EXPECT_EQ(seq[1]->as<nn::Linear>(), nullptr);
  EXPECT_NE(seq[1]->as<nn::ReLUImpl>(), nullptr);
  nn::LinearImpl& last = seq->at<nn::LinearImpl>(2);
  EXPECT_EQ(last.in_features, 4);
  EXPECT_EQ(seq->at<nn::Linear>(0).in_features, 3);
  EXPECT_EQ(seq->ptr<nn::LinearImpl>(2)->out_features, 2);
  EXPECT_THROW(seq->at<nn::LinearImpl>(1), ValueError);
  EXPECT_THROW(seq->at<nn::LinearImpl>(3), IndexError);
  // The typed module is the one inside: changing it changes the Sequential.
  last.weight.detach().zero_();
  last.bias.detach().fill_(1);
  expect_close(seq->forward(ones({2, 3})), ones({2, 2}), 0, 0);
}
}  // namespace
}  // namespace kiln
