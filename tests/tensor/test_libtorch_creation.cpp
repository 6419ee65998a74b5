// tensor({...}) as torch::tensor: integer lists give int64, floating lists float32, bool lists bool, nested
// lists 2-d and more; options override the dtype; ragged lists are refused.
#include <gtest/gtest.h>

#include <vector>

#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "test_device.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_values;

class LibtorchCreationTest : public test::DeviceTest {};

TEST_P(LibtorchCreationTest, ListsPickTorchsDTypes) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = tensor({1, 2, 3});
  EXPECT_EQ(i.dtype(), kInt64);
  EXPECT_EQ(i.sizes(), (Shape{3}));
  expect_values(i, {1, 2, 3});
  EXPECT_EQ(tensor({1.5, 2.0}).dtype(), kFloat32);  // torch's default dtype, not double
  EXPECT_EQ(tensor({1.5f, 2.0f}).dtype(), kFloat32);
  EXPECT_EQ(tensor({true, false}).dtype(), kBool);
  EXPECT_EQ(tensor({1, 2.5}).dtype(), kFloat32);  // the widest kind wins, as a Python list
  EXPECT_EQ(tensor({int64_t(1) << 40}).item<int64_t>(), int64_t(1) << 40);
  Tensor big = tensor({9007199254740993LL});  // above 2^53: kept exact (not routed through double)
  EXPECT_EQ(big.item<int64_t>(), 9007199254740993LL);
  Tensor s = tensor(3.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<double>(), 3.5);
  EXPECT_EQ(tensor({}).sizes(), (Shape{0}));
}

TEST_P(LibtorchCreationTest, NestedListsAndOptions) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor m = tensor({{1, 2}, {3, 4}}, dev());
  EXPECT_EQ(m.sizes(), (Shape{2, 2}));
  EXPECT_EQ(m.dtype(), kInt64);
  EXPECT_EQ(m.device(), dev());
  expect_values(m, {1, 2, 3, 4});
  Tensor c = tensor({{{1.0}, {2.0}}, {{3.0}, {4.0}}});
  EXPECT_EQ(c.sizes(), (Shape{2, 2, 1}));
  Tensor d = tensor({1, 2, 3}, opts(kFloat64));
  EXPECT_EQ(d.dtype(), kFloat64);
  expect_values(d, {1, 2, 3});
  Tensor g = tensor({0.5, 1.5}, opts().requires_grad(true));
  EXPECT_TRUE(g.requires_grad());
  EXPECT_THROW(tensor({{1, 2}, {3}}), ShapeError);
  EXPECT_THROW(tensor({{1, 2}, 3}), ShapeError);
  EXPECT_EQ(tensor({1.0f, 2.5f}).str(), "tensor([1.0000, 2.5000])");  // what the README's printing shows
}

INSTANTIATE_DEVICE_TESTS(LibtorchCreationTest);
}  // namespace
}  // namespace kiln
