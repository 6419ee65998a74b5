// Linear, Bilinear, Embedding, Flatten, Identity: forward against float64 host loops, gradients by gradcheck.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/embedding.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {

class NNLayers : public DeviceTest {};

// y[n, o] = sum_i x[n, i] w[o, i] + b[o] on the host.
std::vector<double> ref_linear(const std::vector<double>& x, const std::vector<double>& w,
                               const std::vector<double>& b, int64_t n, int64_t in, int64_t out) {
  std::vector<double> y(static_cast<size_t>(n * out));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
  return y;
}

TEST_P(NNLayers, LinearForwardMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(3);
  nn::Linear fc(7, 5);
  fc->to(dev());
  Tensor x = rnd({4, 7}, dev(), kFloat32, 11);
  Tensor y = fc->forward(x);
  ASSERT_EQ(y.sizes(), (Shape{4, 5}));
  EXPECT_EQ(y.device(), fc->weight.device());
  expect_values(y, ref_linear(values(x), values(fc->weight), values(fc->bias), 4, 7, 5), 1e-5);
  // The holder's call operator is forward.
  expect_close(fc(x), y);
}

TEST_P(NNLayers, LinearBatchedNonContiguousAndEmpty) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(4);
  nn::Linear fc(3, 2);
  fc->to(dev());
  fc->to(kFloat64);
  // Leading batch dims [2, 4] and a transposed (non-contiguous) input.
  Tensor base = rnd({2, 3, 4}, dev());
  Tensor x = base.transpose(1, 2);
  ASSERT_FALSE(x.is_contiguous());
  Tensor y = fc->forward(x);
  ASSERT_EQ(y.sizes(), (Shape{2, 4, 2}));
  expect_values(y, ref_linear(values(x.contiguous()), values(fc->weight), values(fc->bias), 8, 3, 2), 1e-12);
  // A zero-size batch gives a zero-size output.
  Tensor e = fc->forward(zeros({0, 3}, opts(kFloat64)));
  EXPECT_EQ(e.sizes(), (Shape{0, 2}));
}

TEST_P(NNLayers, LinearWithoutBias) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::Linear fc(4, 3, /*bias=*/false);
  EXPECT_FALSE(fc->bias.defined());
  EXPECT_EQ(fc->parameters().size(), 1u);
  fc->to(dev());
  Tensor x = rnd({2, 4}, dev(), kFloat32);
  expect_values(fc->forward(x), ref_linear(values(x), values(fc->weight), {}, 2, 4, 3), 1e-5);
}

TEST_P(NNLayers, LinearGradcheckInputAndParameters) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::Linear fc(4, 3);
  fc->to(dev(), kFloat64);
  Tensor x = leaf(rnd({5, 4}, dev()));
  gradcheck_module(*fc, {x}, [&](const std::vector<Tensor>& in) { return fc->forward(in[0]); });
}

TEST_P(NNLayers, LinearShapeErrorNamesBothShapes) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::Linear fc(10, 64);
  fc->to(dev());
  EXPECT_THROW_WITH(fc->forward(zeros({2, 9}, opts())), ShapeError, "[2, 9]", "[64, 10]");
}

TEST_P(NNLayers, BilinearForwardAndGradcheck) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(5);
  nn::Bilinear bl(3, 4, 2);
  bl->to(dev(), kFloat64);
  Tensor x1 = leaf(rnd({5, 3}, dev(), kFloat64, 1)), x2 = leaf(rnd({5, 4}, dev(), kFloat64, 2));
  Tensor y = bl->forward(x1, x2);
  ASSERT_EQ(y.sizes(), (Shape{5, 2}));
  auto a = values(x1), b = values(x2), w = values(bl->weight), bias = values(bl->bias);
  std::vector<double> expected(10);
  for (int n = 0; n < 5; ++n)
    for (int o = 0; o < 2; ++o) {
      double s = bias[o];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) s += a[n * 3 + i] * w[(o * 3 + i) * 4 + j] * b[n * 4 + j];
      expected[n * 2 + o] = s;
    }
  expect_values(y, expected, 1e-12);
  gradcheck_module(*bl, {x1, x2}, [&](const std::vector<Tensor>& in) { return bl->forward(in[0], in[1]); });
  // Leading dims are kept.
  EXPECT_EQ(bl->forward(rnd({2, 3, 3}, dev()), rnd({2, 3, 4}, dev())).sizes(), (Shape{2, 3, 2}));
  EXPECT_THROW_WITH(bl->forward(rnd({5, 3}, dev()), rnd({4, 4}, dev())), ShapeError, "[5, 3]", "[4, 4]");
}

TEST_P(NNLayers, EmbeddingLooksUpRows) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(6);
  nn::Embedding emb(10, 3);
  emb->to(dev());
  Tensor idx = tensor(std::vector<int64_t>{1, 9, 0, 1, 4, 4}, {2, 3}, TensorOptions(kInt64).device(dev()));
  Tensor y = emb->forward(idx);
  ASSERT_EQ(y.sizes(), (Shape{2, 3, 3}));
  auto w = values(emb->weight);
  std::vector<double> expected;
  for (int64_t i : {1, 9, 0, 1, 4, 4})
    for (int d = 0; d < 3; ++d) expected.push_back(w[i * 3 + d]);
  expect_values(y, expected, 0);
  // int32 indices work too; out-of-range ids and float ids are errors.
  expect_close(emb->forward(idx.to(kInt32)), y);
  EXPECT_THROW(
      {
        emb->forward(tensor(std::vector<int64_t>{10}, {1}, TensorOptions(kInt64).device(dev())));
        test::wait_for(dev());
      },
      IndexError);
  EXPECT_THROW_WITH(emb->forward(zeros({2}, opts())), DTypeError, "int64");
}

TEST_P(NNLayers, EmbeddingGradientAccumulatesRowsAndSkipsPadding) {
  KILN_SKIP_IF_NO_DEVICE();
  nn::Embedding emb(5, 2, /*padding_idx=*/0);
  EXPECT_EQ(values(emb->weight.select(0, 0)), (std::vector<double>{0, 0}));
  emb->to(dev(), kFloat64);
  Tensor idx = tensor(std::vector<int64_t>{0, 2, 2, 4, 0}, {5}, TensorOptions(kInt64).device(dev()));
  Tensor y = emb->forward(idx);
  sum(y).backward();
  // Row 2 is used twice, row 4 once, row 0 is padding (no gradient), rows 1 and 3 unused.
  expect_values(emb->weight.grad(), {0, 0, 0, 0, 2, 2, 0, 0, 1, 1}, 0);
  // Gradcheck w.r.t. the weight without padding (with it, the padding row's gradient is zero by design).
  nn::Embedding plain(5, 2);
  plain->to(dev(), kFloat64);
  gradcheck_module(*plain, {}, [&](const std::vector<Tensor>&) { return plain->forward(idx); });
  // Negative padding_idx counts from the end.
  EXPECT_EQ(*nn::Embedding(5, 2, -1)->padding_idx, 4);
  EXPECT_THROW(nn::Embedding(5, 2, 5), ValueError);
}

TEST_P(NNLayers, FlattenAndIdentity) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = rnd({2, 3, 4, 5}, dev(), kFloat32);
  nn::Flatten flat;
  Tensor y = flat->forward(x);
  EXPECT_EQ(y.sizes(), (Shape{2, 60}));
  expect_close(y, x.reshape({2, 60}));
  EXPECT_EQ(nn::Flatten(1, 2)->forward(x).sizes(), (Shape{2, 12, 5}));
  EXPECT_EQ(nn::Flatten(0, -1)->forward(x).sizes(), (Shape{120}));
  nn::Identity id;
  EXPECT_TRUE(id->forward(x).is_same(x));
  Tensor xg = leaf(rnd({3, 2, 2}, dev()));
  expect_gradcheck([&](const autograd::TensorList& a) { return flat->forward(a[0]); }, {xg});
}

TEST_P(NNLayers, HalfPrecisionLinear) {
  KILN_SKIP_IF_NO_DEVICE();
  manual_seed(8);
  nn::Linear fc(16, 4);
  fc->to(dev());
  Tensor x = rnd({3, 16}, dev(), kFloat32, 5);
  auto expected = ref_linear(values(x), values(fc->weight), values(fc->bias), 3, 16, 4);
  for (DType dt : {kFloat16, kBFloat16}) {
    nn::Linear low(16, 4);
    low->load_state_dict(fc->state_dict());
    low->to(dev(), dt);
    Tensor y = low->forward(x.to(dt));
    EXPECT_EQ(y.dtype(), dt);
    expect_values(y, expected, 5e-2);
  }
}

TEST_P(NNLayers, MixingDevicesIsAnError) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "mixing devices needs a GPU";
  nn::Linear fc(3, 2);
  fc->to(dev());
  EXPECT_THROW_WITH(fc->forward(zeros({1, 3})), DeviceError, "cpu", "cuda");
  nn::Embedding emb(4, 2);
  emb->to(dev());
  EXPECT_THROW_WITH(emb->forward(tensor(std::vector<int64_t>{1}, {1})), DeviceError, "cpu", "cuda");
  nn::LayerNorm ln(3);
  ln->to(dev());
  EXPECT_THROW(ln->forward(zeros({2, 3})), DeviceError);
  Tensor logits = zeros({2, 3}, opts());
  EXPECT_THROW(nn::functional::cross_entropy(logits, tensor(std::vector<int64_t>{0, 1}, {2})), DeviceError);
  EXPECT_THROW(nn::functional::mse_loss(logits, zeros({2, 3})), DeviceError);
}

INSTANTIATE_DEVICE_TESTS(NNLayers);
}  // namespace
}  // namespace kiln::test
