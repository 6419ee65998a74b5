// libtorch's option spellings on the nn side: nn::LinearOptions, F::...FuncOptions for the functional losses and
// activations (each against the positional call), Sequential's typed access (ptr, at<T>, as<T>).
#include <gtest/gtest.h>

#include <memory>

#include "kiln/core/error.h"
#include "kiln/nn/container.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
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
