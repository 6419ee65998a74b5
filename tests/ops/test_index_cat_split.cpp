// Tests of cat, stack, split, split_with_sizes and chunk: values against host references, torch's size rules,
// promotion, views, errors and gradients, on every device.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::gradcheck;
using autograd::TensorList;

class IndexCatSplitTest : public test::DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  Tensor leaf(const Shape& s) {
    Tensor t = rnd(s, kFloat64);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{99};
};

using test::message_of;

// Host reference of cat for 2-D row-major inputs along dim 0 or 1.
std::vector<double> ref_cat2d(const std::vector<Tensor>& ts, int dim) {
  int64_t rows = dim == 0 ? 0 : ts[0].size(0);
  if (dim == 0)
    for (auto& t : ts) rows += t.size(0);
  std::vector<double> out;
  if (dim == 0) {
    for (auto& t : ts) {
      auto v = t.to_vector<double>();
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (auto& t : ts) {
      auto v = t.to_vector<double>();
      out.insert(out.end(), v.begin() + r * t.size(1), v.begin() + (r + 1) * t.size(1));
    }
  return out;
}

TEST_P(IndexCatSplitTest, CatValuesAlongEachDim) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({2, 3}), b = rnd({4, 3}), c = rnd({1, 3});
  Tensor r0 = cat({a, b, c}, 0);
  EXPECT_EQ(r0.sizes(), (Shape{7, 3}));
  test::expect_values(r0, ref_cat2d({a, b, c}, 0));
  Tensor d = rnd({2, 5}), e = rnd({3, 2}).t();  // non-contiguous input
  Tensor r1 = cat({a, d, e}, -1);
  EXPECT_EQ(r1.sizes(), (Shape{2, 11}));
  test::expect_values(r1, ref_cat2d({a, d, e.contiguous()}, 1));
  Tensor stepped = rnd({4, 6}).slice(1, 0, 6, 2);
  test::expect_values(cat({stepped, a}, 0), ref_cat2d({stepped.contiguous(), a}, 0));
  test::expect_values(cat({a}, 1), a.to_vector<double>());
  EXPECT_EQ(cat({rnd({2, 0}), rnd({2, 3})}, 1).sizes(), (Shape{2, 3}));
}

TEST_P(IndexCatSplitTest, CatPromotesAndSkipsEmpty1D) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = tensor(std::vector<int32_t>{1, 2}, {2}, opts(kInt32));
  Tensor f = tensor(std::vector<double>{0.5}, {1}, opts(kFloat64));
  Tensor h = tensor(std::vector<float>{3.0f}, {1}, opts(kFloat16));
  Tensor r = cat({i, f});
  EXPECT_EQ(r.dtype(), kFloat64);
  test::expect_values(r, {1, 2, 0.5});
  EXPECT_EQ(cat({i, h}).dtype(), kFloat16);
  EXPECT_EQ(cat({tensor(std::vector<bool>{true}, {1}, opts(kBool)), i}).dtype(), kInt32);
  // A [0] tensor is skipped whatever the other shapes (torch's legacy rule).
  Tensor empty = zeros({0}, opts());
  Tensor m = rnd({2, 3});
  Tensor out = cat({empty, m, empty}, 1);
  EXPECT_EQ(out.sizes(), (Shape{2, 3}));
  test::expect_values(out, m.to_vector<double>());
  EXPECT_EQ(cat({empty, empty}).sizes(), (Shape{0}));
}

TEST_P(IndexCatSplitTest, CatAndStackErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  std::string msg = message_of([&] { cat({rnd({2, 3}), rnd({2, 4})}, 0); });
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos);
  EXPECT_NE(msg.find("[2, 4]"), std::string::npos);
  EXPECT_THROW(cat({rnd({2, 3}), rnd({2, 4})}, 0), ShapeError);
  EXPECT_THROW(cat({rnd({2, 3}), rnd({2, 3, 1})}, 0), ShapeError);
  EXPECT_THROW(cat({scalar_tensor(1.0, opts())}), ShapeError);
  EXPECT_THROW(cat({}), ValueError);
  EXPECT_THROW(cat({rnd({2, 3})}, 2), IndexError);
  EXPECT_THROW(stack({rnd({2, 3}), rnd({3, 2})}), ShapeError);
  if (cuda::is_available())
    EXPECT_THROW(cat({randn({2}), randn({2}, TensorOptions().device(Device("cuda")))}), DeviceError);
}

TEST_P(IndexCatSplitTest, StackInsertsADim) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({2, 3}), b = rnd({2, 3});
  Tensor s0 = stack({a, b});
  EXPECT_EQ(s0.sizes(), (Shape{2, 2, 3}));
  test::expect_values(s0, ref_cat2d({a, b}, 0));
  Tensor s2 = stack({a, b}, -1);
  EXPECT_EQ(s2.sizes(), (Shape{2, 3, 2}));
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> expect;
  for (int i = 0; i < 6; ++i) {
    expect.push_back(av[i]);
    expect.push_back(bv[i]);
  }
  test::expect_values(s2, expect);
  Tensor sc = stack({scalar_tensor(1.0, opts()), scalar_tensor(2.0, opts())});
  EXPECT_EQ(sc.sizes(), (Shape{2}));
  test::expect_values(sc, {1, 2});
}

TEST_P(IndexCatSplitTest, SplitAndChunkSizesAsTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  auto sizes_of = [](const std::vector<Tensor>& ts, int64_t dim) {
    Shape s;
    for (auto& t : ts) s.push_back(t.size(dim));
    return s;
  };
  Tensor a = rnd({5, 6});
  EXPECT_EQ(sizes_of(split(a, 2), 0), (Shape{2, 2, 1}));
  EXPECT_EQ(sizes_of(split(a, 6, 1), 1), (Shape{6}));
  EXPECT_EQ(sizes_of(split(a, 10), 0), (Shape{5}));
  EXPECT_EQ(sizes_of(chunk(a, 3), 0), (Shape{2, 2, 1}));
  EXPECT_EQ(sizes_of(chunk(a, 4, 1), 1), (Shape{2, 2, 2}));  // fewer pieces than asked, as torch
  EXPECT_EQ(sizes_of(chunk(a, 7), 0), (Shape{1, 1, 1, 1, 1}));
  EXPECT_EQ(sizes_of(chunk(rnd({0, 2}), 3), 0), (Shape{0, 0, 0}));
  EXPECT_EQ(sizes_of(split(rnd({0, 2}), 0), 0), (Shape{0}));
  EXPECT_EQ(sizes_of(split_with_sizes(a, {1, 0, 4}), 0), (Shape{1, 0, 4}));
  EXPECT_THROW(split_with_sizes(a, {1, 2}), ShapeError);
  EXPECT_THROW(split(a, 0), ValueError);
  EXPECT_THROW(chunk(a, 0), ValueError);
  EXPECT_THROW(split(scalar_tensor(1.0, opts()), 1), ShapeError);
}

TEST_P(IndexCatSplitTest, SplitPiecesAreViews) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({4, 6});
  auto av = a.to_vector<double>();
  auto pieces = split(a, 4, 1);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1].sizes(), (Shape{4, 2}));
  EXPECT_EQ(pieces[1].data_ptr(), static_cast<char*>(a.data_ptr()) + 4 * a.element_size());
  std::vector<double> expect;
  for (int r = 0; r < 4; ++r)
    for (int c = 4; c < 6; ++c) expect.push_back(av[r * 6 + c]);
  test::expect_values(pieces[1], expect);
  pieces[0].fill_(0);  // writes through to a
  auto after = a.to_vector<double>();
  EXPECT_EQ(after[0], 0.0);
  EXPECT_EQ(after[5], av[5]);
}

TEST_P(IndexCatSplitTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return cat({x[0], x[1], x[2]}, 1); },
                        {leaf({2, 3}), leaf({2, 1}), leaf({2, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return stack({x[0], x[1]}, 1); }, {leaf({2, 3}), leaf({2, 3})}));
  // Pieces used out of order, one unused: the unused one gets a zero gradient.
  EXPECT_TRUE(gradcheck(
      [](const TensorList& x) {
        auto p = split(x[0], 2, 0);
        return cat({mul(p[2], p[2]), p[0]}, 0);
      },
      {leaf({5, 3})}));
  EXPECT_TRUE(gradcheck(
      [](const TensorList& x) {
        auto p = chunk(x[0], 2, 1);
        return mul(p[0], p[1]);
      },
      {leaf({3, 4})}));
  // cat with a promoted input: the float64 gradient is cast back to float32 for the float32 input.
  Tensor f = randn({2}, opts(kFloat32));
  f.requires_grad_(true);
  Tensor d = randn({3}, opts(kFloat64));
  cat({f, d}).sum().backward();
  EXPECT_EQ(f.grad().dtype(), kFloat32);
  test::expect_values(f.grad(), {1, 1});
}
INSTANTIATE_DEVICE_TESTS(IndexCatSplitTest);
}  // namespace
}  // namespace kiln
