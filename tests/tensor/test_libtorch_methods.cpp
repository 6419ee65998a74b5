// Method spellings a libtorch user types that kiln had only as free functions (x.all(), x.argmax(),
// x.floor(), x.uniform_(a, b), x.scatter_(...), torch::max(a, b), randint(high, size), ...), x.accessor<T, N>(),
// x.data() and TensorOptions' libtorch spellings: each against the free function or a known value.
#include <gtest/gtest.h>

#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/accessor.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_values;

Tensor v4() { return tensor(std::vector<float>{-1.5f, 2.5f, 0.f, 3.2f}); }

TEST(LibtorchMethods, ElementwiseAndLogic) {
  Tensor x = v4();
  expect_values(x.square(), {2.25, 6.25, 0, 10.24}, 1e-6);
  expect_values(x.sign(), {-1, 1, 0, 1});
  expect_values(x.floor(), {-2, 2, 0, 3});
  expect_values(x.ceil(), {-1, 3, 0, 4});
  expect_values(x.round(), {-2, 2, 0, 3});  // half to even
  expect_values(x.div(0).isnan(), {0, 0, 1, 0});
  expect_values(x.div(0).isinf(), {1, 1, 0, 1});
  expect_values(x.div(0).isfinite(), {0, 0, 0, 0});
  Tensor p = x.gt(0);
  expect_values(p.logical_not(), {1, 0, 1, 0});
  expect_values(p.logical_and(x.lt(3)), {0, 1, 0, 0});
  expect_values(p.logical_or(x.lt(0)), {1, 1, 0, 1});
  EXPECT_TRUE(x.allclose(x.add(1e-9)));
  EXPECT_TRUE(x.equal(x.clone()));
  EXPECT_FALSE(x.equal(x.add(1)));
  EXPECT_EQ(x.type_as(tensor({1, 2})).dtype(), kInt64);
  expect_values(max(x, x.neg()), {1.5, 2.5, 0, 3.2}, 1e-6);  // torch::max(a, b) is elementwise
  expect_values(min(x, zeros({4})), {-1.5, 0, 0, 0});
}

TEST(LibtorchMethods, Reductions) {
  Tensor x = v4();
  EXPECT_EQ(x.argmax().item<int64_t>(), 3);
  EXPECT_EQ(x.argmin().item<int64_t>(), 0);
  EXPECT_FALSE(x.all().item<bool>());
  EXPECT_TRUE(x.any().item<bool>());
  Tensor m = x.view({2, 2}).ne(0);
  expect_values(m.all(1), {1, 0});
  expect_values(m.any(0, true), {1, 1});
  EXPECT_EQ(m.any(0, true).sizes(), (Shape{1, 2}));
}

TEST(LibtorchMethods, RandomFillsAndScatter) {
  manual_seed(3);
  Tensor w = empty({1000});
  w.uniform_(-0.1, 0.1);
  EXPECT_GE(w.min().item<double>(), -0.1);
  EXPECT_LT(w.max().item<double>(), 0.1);
  w.normal_(2, 0.5);
  EXPECT_NEAR(w.mean().item<double>(), 2, 0.1);
  Tensor r = randint(5, {200});
  EXPECT_EQ(r.dtype(), kInt64);
  EXPECT_GE(r.min().item<int64_t>(), 0);
  EXPECT_LE(r.max().item<int64_t>(), 4);
  Tensor z = zeros({2, 3});
  Tensor idx = tensor(std::vector<int64_t>{2, 0}, {2, 1});
  z.scatter_(1, idx, ones({2, 1}));
  expect_values(z, {0, 0, 1, 1, 0, 0});
  z.scatter_add_(1, idx, ones({2, 1}));
  expect_values(z, {0, 0, 2, 2, 0, 0});
  expect_values(zeros({2, 3}).scatter(1, idx, 7.0), {0, 0, 7, 7, 0, 0});
  expect_values(zeros({2, 3}).scatter(1, idx, full({2, 1}, 4.0)), {0, 0, 4, 4, 0, 0});
}
TEST(LibtorchMethods, Accessor) {
  Tensor x = tensor({{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  auto a = x.accessor<float, 2>();
  EXPECT_EQ(a.size(0), 2);
  EXPECT_EQ(a.size(1), 3);
  float total = 0;
  for (int64_t i = 0; i < a.size(0); ++i)
    for (int64_t j = 0; j < a.size(1); ++j) total += a[i][j];
  EXPECT_FLOAT_EQ(total, 21);
  a[1][2] = 60;  // writes land in the tensor
  EXPECT_FLOAT_EQ(x.index_select(0, tensor({1})).to_vector<float>()[2], 60);
  Tensor t = x.t();  // strides are followed
  auto at = t.accessor<float, 2>();
  EXPECT_FLOAT_EQ(at[2][0], 3);
  EXPECT_THROW((x.accessor<double, 2>()), DTypeError);
  EXPECT_THROW((x.accessor<float, 1>()), ShapeError);
}

TEST(LibtorchMethods, OptionsAndData) {
  Tensor g = zeros({2}, requires_grad());
  EXPECT_TRUE(g.requires_grad());
  TensorOptions o = TensorOptions().dtype(kFloat64).layout(kStrided).device(kCPU, -1).requires_grad(true);
  EXPECT_EQ(o.layout(), kStrided);
  Tensor r = randn({3}, o);
  EXPECT_EQ(r.dtype(), kFloat64);
  Tensor y = mul(r, 2);
  Tensor d = y.data();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.data_ptr(), y.data_ptr());  // the same storage, no history
}
}  // namespace
}  // namespace kiln
