// nonzero, masked_select, flip, repeat and where with numbers: host references written as index loops,
// gradients by finite differences, CUDA against the CPU.
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/index.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_close;
using test::expect_values;

class SelectRearrangeTest : public test::PointwiseTest {};

TEST_P(SelectRearrangeTest, Nonzero) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = vals({0, 3, 0, -1, 2, 0}).view({2, 3});
  Tensor nz = nonzero(x);
  EXPECT_EQ(nz.dtype(), kInt64);
  EXPECT_EQ(nz.device(), dev());
  EXPECT_EQ(nz.sizes(), (Shape{3, 2}));
  expect_values(nz, {0, 1, 1, 0, 1, 1});
  expect_values(x.nonzero(), {0, 1, 1, 0, 1, 1});
  expect_values(nonzero(gt(x, 0)), {0, 1, 1, 1});
  EXPECT_EQ(nonzero(zeros({4}, opts())).sizes(), (Shape{0, 1}));
  EXPECT_EQ(nonzero(scalar_tensor(5, opts())).sizes(), (Shape{1, 0}));
  EXPECT_EQ(nonzero(x.t()).sizes(), (Shape{3, 2}));
  expect_values(nonzero(x.t()), {0, 1, 1, 0, 1, 1});  // row-major order of the transposed view
}

TEST_P(SelectRearrangeTest, MaskedSelect) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = vals({1, 2, 3, 4, 5, 6}).view({2, 3});
  expect_values(masked_select(x, gt(x, 2.5)), {3, 4, 5, 6});
  expect_values(x.masked_select(gt(vals({1, -1, 1}), 0)), {1, 3, 4, 6});  // the mask broadcasts
  EXPECT_EQ(masked_select(x, gt(x, 10)).sizes(), (Shape{0}));
  EXPECT_THROW(masked_select(x, x), DTypeError);
  Tensor a = leaf({3, 4});
  Tensor m = gt(uni({3, 4}, -1, 1, kFloat64), 0);
  EXPECT_TRUE(autograd::gradcheck([m](const autograd::TensorList& in) { return masked_select(in[0], m); }, {a}));
}

TEST_P(SelectRearrangeTest, Flip) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = vals({1, 2, 3, 4, 5, 6}).view({2, 3});
  expect_values(flip(x, {0}), {4, 5, 6, 1, 2, 3});
  expect_values(x.flip({1}), {3, 2, 1, 6, 5, 4});
  expect_values(flip(x, {0, -1}), {6, 5, 4, 3, 2, 1});
  expect_values(flip(x.t(), {0}), {3, 6, 2, 5, 1, 4});
  Tensor same = flip(x, {});
  expect_values(same, {1, 2, 3, 4, 5, 6});
  EXPECT_FALSE(same.is_same(x));
  EXPECT_THROW(flip(x, {0, 0}), Error);
  EXPECT_THROW(flip(x, {2}), IndexError);
  Tensor a = leaf({2, 3, 4});
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return flip(in[0], {0, 2}); }, {a}));
}

TEST_P(SelectRearrangeTest, Repeat) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = vals({1, 2, 3});
  expect_values(x.repeat({2}), {1, 2, 3, 1, 2, 3});
  Tensor r = x.repeat({2, 2});  // the docs' example: a leading dim is added
  EXPECT_EQ(r.sizes(), (Shape{2, 6}));
  expect_values(r, {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
  Tensor m = vals({1, 2, 3, 4}).view({2, 2});
  Tensor rm = repeat(m, {1, 3, 1});
  EXPECT_EQ(rm.sizes(), (Shape{1, 6, 2}));
  expect_values(rm, {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4});
  expect_values(repeat(m.t(), {1, 2}), {1, 3, 1, 3, 2, 4, 2, 4});
  EXPECT_EQ(x.repeat({0}).sizes(), (Shape{0}));
  EXPECT_THROW(m.repeat({2}), ShapeError);
  Tensor a = leaf({2, 3});
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return repeat(in[0], {2, 1, 3}); }, {a}));
}

TEST_P(SelectRearrangeTest, WhereWithNumbers) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = vals({-1, 2, -3});
  Tensor c = gt(x, 0);
  expect_values(where(c, 0, x), {-1, 0, -3});
  expect_values(where(c, 1.5, -1.5), {-1.5, 1.5, -1.5});
  EXPECT_EQ(where(c, 1.5, -1).dtype(), kFloat32);
  EXPECT_EQ(where(c, 1, 0).dtype(), kInt64);
  EXPECT_EQ(where(c, true, false).dtype(), kBool);
  expect_values(x.where(c, vals({7, 8, 9})), {7, 2, 9});  // libtorch's self.where(cond, other)
  Tensor a = leaf({3});
  EXPECT_TRUE(autograd::gradcheck([c](const autograd::TensorList& in) { return where(c, 2.0, in[0]); }, {a}));
}

TEST_P(SelectRearrangeTest, CudaMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "compares the CUDA results with the CPU";
  Tensor x = uni({37, 19}, -1, 1);
  Tensor m = gt(x, 0.2);
  EXPECT_EQ(nonzero(m).cpu().to_vector<int64_t>(), nonzero(m.cpu()).to_vector<int64_t>());
  expect_close(masked_select(x, m).cpu(), masked_select(x.cpu(), m.cpu()), 0, 0);
  expect_close(flip(x, {0, 1}).cpu(), flip(x.cpu(), {0, 1}), 0, 0);
  expect_close(repeat(x, {2, 1, 3}).cpu(), repeat(x.cpu(), {2, 1, 3}), 0, 0);
}

INSTANTIATE_DEVICE_TESTS(SelectRearrangeTest);
}  // namespace
}  // namespace kiln
