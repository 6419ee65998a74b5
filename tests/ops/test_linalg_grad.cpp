// Gradient and error tests of mm, bmm, matmul, addmm and linear: gradcheck in float64 on every device, and the
// messages of shape, dtype and device errors.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::gradcheck;
using autograd::TensorList;

class LinalgGradTest : public test::DeviceTest {
 protected:
  Tensor leaf(const Shape& s) {
    Tensor t = randn(s, opts(kFloat64), &gen_);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{7};
};

TEST_P(LinalgGradTest, MmAndBmm) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return mm(x[0], x[1]); }, {leaf({3, 4}), leaf({4, 2})}));
  // Transposed operands go through the BLAS transpose flags in forward and backward.
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return mm(x[0].t(), x[1].t()); }, {leaf({4, 3}), leaf({2, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return bmm(x[0], x[1]); }, {leaf({2, 3, 4}), leaf({2, 4, 3})}));
}

TEST_P(LinalgGradTest, MatmulRanksAndBroadcastBatches) {
  KILN_SKIP_IF_NO_DEVICE();
  auto f = [](const TensorList& x) { return matmul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {leaf({4}), leaf({4})}));
  EXPECT_TRUE(gradcheck(f, {leaf({3, 4}), leaf({4})}));
  EXPECT_TRUE(gradcheck(f, {leaf({4}), leaf({4, 2})}));
  EXPECT_TRUE(gradcheck(f, {leaf({2, 3, 4}), leaf({4, 2})}));
  EXPECT_TRUE(gradcheck(f, {leaf({2, 3, 4}), leaf({4})}));
  EXPECT_TRUE(gradcheck(f, {leaf({4}), leaf({2, 4, 3})}));
  EXPECT_TRUE(gradcheck(f, {leaf({2, 1, 3, 4}), leaf({3, 4, 2})}));  // both operands broadcast
  EXPECT_TRUE(gradcheck(f, {leaf({3, 4}), leaf({2, 4, 2})}));
}

TEST_P(LinalgGradTest, AddmmAndLinear) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return addmm(x[0], x[1], x[2], 0.5, -2.0); },
                        {leaf({3}), leaf({2, 4}), leaf({4, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return addmm(x[0], x[1], x[2]); },
                        {leaf({2, 3}), leaf({2, 4}), leaf({4, 3})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return linear(x[0], x[1], x[2]); },
                        {leaf({2, 3, 4}), leaf({5, 4}), leaf({5})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return linear(x[0], x[1]); }, {leaf({4}), leaf({2, 4})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return linear(x[0].transpose(0, 1), x[1], x[2]); },
                        {leaf({3, 2, 4}), leaf({5, 4}), leaf({5})}));
}

TEST_P(LinalgGradTest, GradientsHaveInputShapesAndBiasIsRowSum) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf({6, 3}), w = leaf({2, 3}), b = leaf({2});
  linear(x, w, b).sum().backward();
  EXPECT_EQ(x.grad().sizes(), x.sizes());
  EXPECT_EQ(w.grad().sizes(), w.sizes());
  test::expect_values(b.grad(), {6.0, 6.0});  // d(sum)/db = number of rows
  Tensor a = leaf({1, 3, 4}), c = leaf({5, 4, 2});
  matmul(a, c).sum().backward();
  EXPECT_EQ(a.grad().sizes(), (Shape{1, 3, 4}));  // summed over the broadcast batch
}

TEST_P(LinalgGradTest, DoubleBackwardThroughMm) {
  KILN_SKIP_IF_NO_DEVICE();
  // g = d sum(a @ b) / db = a^T @ ones, so g[q][j] = s_q (column sums of a); L = sum(g * g) = 2 * sum_q s_q^2
  // and dL/da[i][q] = 4 s_q. This needs mm's backward to be differentiable itself.
  Tensor a = leaf({3, 4}), b = leaf({4, 2});
  TensorList g = autograd::grad({mm(a, b).sum()}, {b}, {}, true, true);
  TensorList ga = autograd::grad({mul(g[0], g[0]).sum()}, {a});
  auto av = a.to_vector<double>();
  std::vector<double> expect(12);
  for (int q = 0; q < 4; ++q) {
    double s = av[q] + av[4 + q] + av[8 + q];
    for (int i = 0; i < 3; ++i) expect[i * 4 + q] = 4 * s;
  }
  test::expect_values(ga[0], expect, 1e-10);
}

using test::message_of;

TEST_P(LinalgGradTest, ShapeErrorsNameBothShapes) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = randn({2, 3}, opts()), b = randn({4, 5}, opts());
  EXPECT_THROW(mm(a, b), ShapeError);
  EXPECT_EQ(message_of([&] { mm(a, b); }), "mm: cannot multiply [2, 3] by [4, 5]: inner dimensions 3 and 4 differ");
  EXPECT_NE(message_of([&] { matmul(a, b); }).find("[2, 3] by [4, 5]"), std::string::npos);
  EXPECT_THROW(mm(randn({2, 3, 4}, opts()), b), ShapeError);
  EXPECT_THROW(bmm(randn({2, 3, 4}, opts()), randn({3, 4, 5}, opts())), ShapeError);
  EXPECT_THROW(matmul(randn({2, 3, 4}, opts()), randn({3, 4, 5}, opts())), ShapeError);  // batch 2 vs 3
  EXPECT_THROW(matmul(scalar_tensor(1.0, opts()), b), ShapeError);
  EXPECT_THROW(addmm(randn({3}, opts()), randn({2, 4}, opts()), randn({4, 5}, opts())), ShapeError);
  std::string lin = message_of([&] { linear(randn({2, 3}, opts()), randn({5, 4}, opts())); });
  EXPECT_NE(lin.find("[2, 3]"), std::string::npos);
  EXPECT_NE(lin.find("[5, 4]"), std::string::npos);
  EXPECT_THROW(linear(randn({2, 4}, opts()), randn({5, 4}, opts()), randn({4}, opts())), ShapeError);
}

TEST_P(LinalgGradTest, DTypeAndDeviceErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = randn({2, 3}, opts()), b = randn({3, 2}, opts(kFloat64));
  EXPECT_THROW(mm(a, b), DTypeError);
  std::string msg = message_of([&] { matmul(a, b); });
  EXPECT_NE(msg.find("float32"), std::string::npos);
  EXPECT_NE(msg.find("float64"), std::string::npos);
  EXPECT_THROW(linear(a, randn({4, 3}, opts()), randn({4}, opts(kFloat64))), DTypeError);
  EXPECT_THROW(mm(a.to(kBool), a.t().to(kBool)), DTypeError);
  if (cuda::is_available()) {
    Tensor gpu = randn({3, 2}, TensorOptions().device(Device("cuda")));
    Tensor cpu = randn({2, 3});
    EXPECT_THROW(mm(cpu, gpu), DeviceError);
    EXPECT_THROW(linear(cpu, gpu.t()), DeviceError);
  }
}
INSTANTIATE_DEVICE_TESTS(LinalgGradTest);
}  // namespace
}  // namespace kiln
