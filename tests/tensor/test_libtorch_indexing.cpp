// x.index({...}) and x.index_put_({...}, v) with kiln::indexing's Slice, None, Ellipsis, integers, bools and
// integer/bool tensors, against Python's x[...] results (worked out by hand on arange tensors), with
// gradients and CUDA against the CPU.
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/indexing.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using namespace kiln::indexing;
using test::expect_close;
using test::expect_values;

class LibtorchIndexingTest : public test::PointwiseTest {
 protected:
  // arange(24).view({2, 3, 4}) as float32 on the device.
  Tensor cube() { return arange(24, opts()).view({2, 3, 4}); }
  Tensor idx(const std::vector<int64_t>& v) { return tensor(v, {static_cast<int64_t>(v.size())}).to(dev()); }
};

TEST_P(LibtorchIndexingTest, BasicIndicesAreViews) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = cube();
  Tensor a = x.index({0});  // x[0]
  EXPECT_EQ(a.sizes(), (Shape{3, 4}));
  EXPECT_EQ(a.data_ptr(), x.data_ptr());
  expect_values(x.index({1, 2}), {20, 21, 22, 23});                // x[1, 2]
  expect_values(x.index({Slice(), 1, Slice(1, None)}), {5, 6, 7, 17, 18, 19});  // x[:, 1, 1:]
  expect_values(x.index({"...", -1}), {3, 7, 11, 15, 19, 23});      // x[..., -1]
  expect_values(x.index({Ellipsis, 0}), {0, 4, 8, 12, 16, 20});
  expect_values(x.index({0, Slice(None, None, 2), Slice(-2, None)}), {2, 3, 10, 11});  // x[0, ::2, -2:]
  EXPECT_EQ(x.index({None, 0}).sizes(), (Shape{1, 3, 4}));           // x[None, 0]
  EXPECT_EQ(x.index({Slice(), None, Slice(), None}).sizes(), (Shape{2, 1, 3, 1, 4}));
  EXPECT_EQ(x.index({true}).sizes(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(x.index({false}).sizes(), (Shape{0, 2, 3, 4}));
  EXPECT_EQ(x.index({1, "...", 2}).sizes(), (Shape{3}));
  EXPECT_EQ(x.index({Slice(5, 10)}).sizes(), (Shape{0, 3, 4}));     // out-of-range slices clip, as Python
  EXPECT_EQ(x.index(std::vector<TensorIndex>{Slice(), 0}).sizes(), (Shape{2, 4}));
}

TEST_P(LibtorchIndexingTest, AdvancedIndices) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = cube();
  expect_values(x.index({idx({1, 0})}).view({-1}).narrow(0, 0, 4), {12, 13, 14, 15});  // x[[1, 0]]
  EXPECT_EQ(x.index({idx({1, 0, 1})}).sizes(), (Shape{3, 3, 4}));
  expect_values(x.index({Slice(), idx({2, -1}), 0}), {8, 8, 20, 20});  // x[:, [2, -1], 0]
  expect_values(x.index({idx({0, 1}), idx({1, 2}), idx({3, 0})}), {7, 20});  // x[[0, 1], [1, 2], [3, 0]]
  // Two index tensors separated by a slice: their dims go first (numpy's rule): x[[0, 1], :, [0, 3]] is [2, 3].
  Tensor sep = x.index({idx({0, 1}), Slice(), idx({0, 3})});
  EXPECT_EQ(sep.sizes(), (Shape{2, 3}));
  expect_values(sep, {0, 4, 8, 15, 19, 23});
  // Adjacent ones stay in place: x[:, [0, 2], [1, 3]] is [2, 2].
  expect_values(x.index({Slice(), idx({0, 2}), idx({1, 3})}), {1, 11, 13, 23});
  // Index tensors broadcast: x[0, [[0], [2]], [1, 3]] is [2, 2].
  Tensor col = tensor(std::vector<int64_t>{0, 2}, {2, 1}).to(dev());
  Tensor b = x.index({0, col, idx({1, 3})});
  EXPECT_EQ(b.sizes(), (Shape{2, 2}));
  expect_values(b, {1, 3, 9, 11});
  // Bool masks: x[x > 20] and a mask over the last two dims.
  expect_values(x.index({gt(x, 20)}), {21, 22, 23});
  Tensor m = tensor(std::vector<bool>{true, false, false, false, false, false, false, false, false, false, false, true},
                    {3, 4})
                 .to(dev());
  expect_values(x.index({Slice(), m}), {0, 11, 12, 23});
  EXPECT_THROW(x.index({0, 0, 0, 0}), IndexError);
  EXPECT_THROW(x.index({5}), IndexError);
  EXPECT_THROW(x.index({"..", 0}), Error);
  EXPECT_THROW(x.index({Ellipsis, "..."}), Error);
  EXPECT_THROW(x.index({Slice(None, None, -1)}), Error);
}

TEST_P(LibtorchIndexingTest, IndexPut) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = cube();
  x.index_put_({0, Slice(), 0}, -1);  // x[0, :, 0] = -1
  expect_values(x.index({0, Slice(), 0}), {-1, -1, -1});
  x.index_put_({1}, zeros({4}, opts()));  // broadcasts over x[1]
  expect_values(x.index({1}).sum(), {0});
  Tensor y = cube();
  y.index_put_({gt(y, 20)}, 0);  // y[y > 20] = 0
  expect_values(y.index({1, 2}), {20, 0, 0, 0});
  Tensor z = cube();
  z.index_put_({Slice(), idx({0, 2}), idx({1, 3})}, vals({100, 200}));  // the value broadcasts to [2, 2]
  expect_values(z.index({Slice(), idx({0, 2}), idx({1, 3})}), {100, 200, 100, 200});
  EXPECT_DOUBLE_EQ(z.sum().item<double>(), 276 - (1 + 11 + 13 + 23) + 600);
  Tensor s = cube();
  s.index_put_({idx({0, 1}), Slice(), idx({0, 3})}, vals({7, 8, 9}).view({1, 3}));  // separated: [2, 3]
  expect_values(s.index({idx({0, 1}), Slice(), idx({0, 3})}), {7, 8, 9, 7, 8, 9});
}

TEST_P(LibtorchIndexingTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = leaf({2, 3, 4});
  Tensor i = idx({2, 0, 2});
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::TensorList& in) { return in[0].index({Slice(), 1, Slice(None, None, 2)}); }, {a}));
  EXPECT_TRUE(autograd::gradcheck([i](const autograd::TensorList& in) { return in[0].index({Slice(), i}); }, {a}));
  EXPECT_TRUE(autograd::gradcheck(
      [this, i](const autograd::TensorList& in) { return in[0].index({idx({1, 0, 1}), Slice(), i.narrow(0, 0, 3)}); }, {a}));
}

TEST_P(LibtorchIndexingTest, CudaMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "compares the CUDA results with the CPU";
  Tensor x = uni({5, 6, 7}, -1, 1);
  Tensor i = idx({4, 0, -1, 2});
  expect_close(x.index({Slice(1, None), i.narrow(0, 0, 2), "..."}).cpu(),
               x.cpu().index({Slice(1, None), i.narrow(0, 0, 2).cpu(), "..."}), 0, 0);
  expect_close(x.index({gt(x, 0)}).cpu(), x.cpu().index({gt(x.cpu(), 0)}), 0, 0);
  Tensor g = x.clone(), c = x.cpu();
  g.index_put_({i, Slice(), 3}, 5.0);
  c.index_put_({i.cpu(), Slice(), 3}, 5.0);
  expect_close(g.cpu(), c, 0, 0);
}

INSTANTIATE_DEVICE_TESTS(LibtorchIndexingTest);
}  // namespace
}  // namespace kiln
