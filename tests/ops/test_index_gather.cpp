// Tests of index_select, gather, scatter, scatter_add (and their in-place forms) and one_hot: host references,
// index validation (IndexError, also on CUDA), shape/dtype errors and gradients, on every device.
#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {
using autograd::gradcheck;
using autograd::TensorList;

class IndexGatherTest : public test::DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  Tensor leaf(const Shape& s) {
    Tensor t = rnd(s, kFloat64);
    t.requires_grad_(true);
    return t;
  }
  Tensor idx(const std::vector<int64_t>& v, const Shape& s, DType t = kInt64) {
    return tensor(v, s).to(dev()).to(t);
  }
  Generator gen_{5};
};

using test::message_of;

TEST_P(IndexGatherTest, IndexSelect) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({4, 3});
  auto av = a.to_vector<double>();
  for (DType it : {kInt64, kInt32}) {
    Tensor i = idx({3, 0, 3}, {3}, it);
    std::vector<double> rows, cols;
    for (int64_t r : {3, 0, 3})
      for (int c = 0; c < 3; ++c) rows.push_back(av[r * 3 + c]);
    test::expect_values(index_select(a, 0, i), rows);
    Tensor ci = idx({2, 1}, {2}, it);
    for (int r = 0; r < 4; ++r)
      for (int64_t c : {2, 1}) cols.push_back(av[r * 3 + c]);
    test::expect_values(a.index_select(-1, ci), cols);
  }
  // Non-contiguous input and strided index.
  Tensor t = a.t();
  Tensor si = idx({0, 9, 3, 9}, {4}).slice(0, 0, 4, 2);  // [0, 3]
  std::vector<double> expect;
  for (int r = 0; r < 3; ++r)
    for (int64_t c : {0, 3}) expect.push_back(av[c * 3 + r]);
  test::expect_values(index_select(t, 1, si), expect);
  EXPECT_EQ(index_select(a, 0, idx({}, {0})).sizes(), (Shape{0, 3}));
  Tensor s = scalar_tensor(2.5, opts());
  test::expect_values(index_select(s, 0, idx({0}, {1})), {2.5});
  Tensor h = a.to(kFloat16);
  test::expect_values(index_select(h, 0, idx({1}, {1})), {av[3], av[4], av[5]}, 1e-3);
}

// Rows wider than the CPU kernel's block of 256 outer positions and a dim in the middle: the row-copy path and
// the element path against a plain loop, with repeated indices.
TEST_P(IndexGatherTest, IndexSelectWideRowsAndMiddleDim) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({5, 300});
  const std::vector<int64_t> pick = {4, 0, 4, 2};
  auto av = a.to_vector<double>();
  std::vector<double> expect;
  for (int64_t r : pick)
    for (int64_t c = 0; c < 300; ++c) expect.push_back(av[r * 300 + c]);
  test::expect_values(index_select(a, 0, idx(pick, {4})), expect);
  Tensor b = rnd({3, 4, 70});
  auto bv = b.to_vector<double>();
  expect.clear();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j : {3, 1, 3})
      for (int64_t k = 0; k < 70; ++k) expect.push_back(bv[(i * 4 + j) * 70 + k]);
  test::expect_values(index_select(b, 1, idx({3, 1, 3}, {3})), expect);
}

TEST_P(IndexGatherTest, OutOfRangeIndicesThrowIndexError) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({4, 3});
  EXPECT_THROW({ index_select(a, 0, idx({0, 4}, {2})); test::wait_for(dev()); }, IndexError);
  EXPECT_THROW({ index_select(a, 1, idx({-1}, {1})); test::wait_for(dev()); }, IndexError);
  std::string msg = message_of([&] { gather(a, 1, idx({0, 1, 7, 2, 0, 0}, {2, 3})); test::wait_for(dev()); });
  EXPECT_NE(msg.find("7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("size 3"), std::string::npos) << msg;
  Tensor before = a.clone();
  EXPECT_THROW({ scatter_(a, 0, idx({0, 5}, {1, 2}), rnd({1, 2})); test::wait_for(dev()); }, IndexError);
  test::expect_values(a, before.to_vector<double>());  // validated before any write
  EXPECT_THROW({ scatter_add(a, 0, idx({-3}, {1, 1}), rnd({1, 1})); test::wait_for(dev()); }, IndexError);
  EXPECT_THROW({ scatter(a, 1, idx({3}, {1, 1}), 1.0); test::wait_for(dev()); }, IndexError);
}

// The documented rule: the error names the first bad index (in the index's row-major order), on every device,
// not whichever GPU thread happened to win. Many bad values, so a GPU race would show.
TEST_P(IndexGatherTest, OutOfRangeReportsTheFirstBadIndex) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({4, 3000});
  std::vector<int64_t> v(4 * 3000, 0);
  for (size_t i = 0; i < v.size(); ++i)
    if (i % 7 == 5) v[i] = 5000 + static_cast<int64_t>(i);  // first bad: position 5, value 5005
  for (int rep = 0; rep < 3; ++rep) {
    std::string msg = message_of([&] { gather(a, 1, idx(v, {4, 3000})); test::wait_for(dev()); });
    EXPECT_NE(msg.find("index 5005 "), std::string::npos) << msg;
  }
  std::string msg = message_of([&] {
    index_select(rnd({4, 3}), 1, idx({0, 1, 9, 2, 8, 7}, {6}));
    test::wait_for(dev());
  });
  EXPECT_NE(msg.find("index 9 "), std::string::npos) << msg;
}

TEST_P(IndexGatherTest, GatherMatchesReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = rnd({3, 4});
  auto av = a.to_vector<double>();
  Tensor i1 = idx({3, 0, 1, 1, 2, 2}, {3, 2});  // dim 1: out[r][c] = a[r][i[r][c]]
  test::expect_values(gather(a, 1, i1), {av[3], av[0], av[5], av[5], av[10], av[10]});
  Tensor i0 = idx({2, 0, 1}, {1, 3});  // dim 0, index smaller than a in dim 1
  test::expect_values(a.gather(0, i0), {av[8], av[1], av[6]});
  Tensor at = rnd({4, 3}).t();  // non-contiguous input
  auto atv = at.contiguous().to_vector<double>();
  test::expect_values(gather(at, 1, i1), {atv[3], atv[0], atv[5], atv[5], atv[10], atv[10]});
  // 3-D along the middle dim.
  Tensor b = rnd({2, 3, 2}, kFloat64);
  auto bv = b.to_vector<double>();
  Tensor i3 = idx({2, 0, 1, 1}, {2, 1, 2});
  test::expect_values(gather(b, 1, i3), {bv[0 * 6 + 2 * 2 + 0], bv[0 * 6 + 0 * 2 + 1], bv[1 * 6 + 1 * 2 + 0],
                                          bv[1 * 6 + 1 * 2 + 1]});
  EXPECT_EQ(gather(a, 0, idx({}, {0, 4})).sizes(), (Shape{0, 4}));
  Tensor ints = tensor(std::vector<int64_t>{10, 20, 30}, {3}).to(dev());
  test::expect_values(gather(ints, 0, idx({2, 2, 0}, {3})), {30, 30, 10});
  // 0-dim input and index count as 1-D of size 1, as torch.
  Tensor s = scalar_tensor(3.0, opts(kFloat64));
  Tensor g0 = gather(s, 0, idx({0}, {}));
  EXPECT_EQ(g0.dim(), 0);
  test::expect_values(g0, {3.0});
  test::expect_values(scatter(s, 0, idx({0}, {}), scalar_tensor(5.0, opts(kFloat64))), {5.0});
  EXPECT_THROW({ gather(s, 0, idx({1}, {})); test::wait_for(dev()); }, IndexError);
  EXPECT_THROW(gather(a, 1, idx({0}, {1})), ShapeError);            // rank differs
  EXPECT_THROW(gather(a, 1, idx({0, 0, 0, 0, 0}, {5, 1})), ShapeError);  // larger than a in dim 0
  EXPECT_THROW(gather(a, 1, idx({0}, {1, 1}).to(kFloat32)), DTypeError);
}

TEST_P(IndexGatherTest, ScatterAndScatterAdd) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = zeros({3, 4}, opts(kFloat64));
  Tensor src = tensor(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}).to(dev());
  Tensor i = idx({0, 1, 2, 2, 0, 1}, {2, 3});  // src bigger than index in both dims
  // scatter along dim 0: out[i[r][c]][c] = src[r][c]
  test::expect_values(scatter(a, 0, i, src), {1, 5, 0, 0, 0, 2, 6, 0, 4, 0, 3, 0});
  test::expect_values(scatter(a, 1, i, 7.5), {7.5, 7.5, 7.5, 0, 7.5, 7.5, 7.5, 0, 0, 0, 0, 0});
  // Repeated indices accumulate in scatter_add.
  Tensor rep = idx({1, 1, 1, 3}, {1, 4});
  Tensor ones4 = ones({1, 4}, opts(kFloat64));
  test::expect_values(scatter_add(a, 1, rep, ones4), {0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  Tensor ia = zeros({5}, opts(kInt64));
  test::expect_values(scatter_add(ia, 0, idx({4, 4, 0}, {3}), tensor(std::vector<int64_t>{2, 3, 1}, {3}).to(dev())),
                      {1, 0, 0, 0, 5});
  for (DType t : {kFloat16, kBFloat16, kInt32, kUInt8}) {
    Tensor z = zeros({2}, opts(t));
    test::expect_values(scatter_add(z, 0, idx({1, 1, 1}, {3}), ones({3}, opts(t))), {0, 3});
  }
  // In place, on a non-contiguous self.
  Tensor base = zeros({4, 3}, opts(kFloat64));
  Tensor view = base.t();
  scatter_(view, 1, idx({3}, {1, 1}), full({1, 1}, 2.0, opts(kFloat64)));
  scatter_add_(view, 1, idx({3, 3}, {1, 2}), full({1, 2}, 1.0, opts(kFloat64)));
  test::expect_values(base, {0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0});
  EXPECT_THROW(scatter(a, 0, i, src.to(kFloat32)), DTypeError);
  EXPECT_THROW(scatter(a, 0, idx({0, 0, 0, 0}, {1, 4}), src), ShapeError);  // index larger than src
  Tensor expanded = zeros({1, 3}, opts(kFloat64)).expand({2, 3});
  EXPECT_THROW(scatter_(expanded, 0, idx({0}, {1, 1}), src), ValueError);
}

TEST_P(IndexGatherTest, OneHot) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor labels = idx({2, 0, 1, 2}, {2, 2});
  Tensor oh = one_hot(labels);
  EXPECT_EQ(oh.dtype(), kInt64);
  EXPECT_EQ(oh.sizes(), (Shape{2, 2, 3}));
  test::expect_values(oh, {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  EXPECT_EQ(one_hot(labels, 5).sizes(), (Shape{2, 2, 5}));
  EXPECT_EQ(one_hot(idx({}, {0}), 4).sizes(), (Shape{0, 4}));
  std::string big = message_of([&] { one_hot(labels, 2); test::wait_for(dev()); });
  EXPECT_NE(big.find("class index 2"), std::string::npos) << big;
  EXPECT_THROW({ one_hot(labels, 2); test::wait_for(dev()); }, IndexError);
  std::string neg = message_of([&] { one_hot(idx({1, -4}, {2})); test::wait_for(dev()); });
  EXPECT_NE(neg.find("-4"), std::string::npos) << neg;
  EXPECT_THROW({ one_hot(idx({1, -4}, {2}), 3); test::wait_for(dev()); }, IndexError);
  EXPECT_THROW(one_hot(rnd({2})), DTypeError);
  EXPECT_THROW(one_hot(idx({}, {0})), ValueError);
}

TEST_P(IndexGatherTest, LargeInputsMatchReference) {
  KILN_SKIP_IF_NO_DEVICE();
  // An embedding-like lookup and its index_add (outer blocks of columns, repeated rows) ...
  Tensor table = rnd({50, 300}, kFloat64);
  auto tv = table.to_vector<double>();
  std::vector<int64_t> rows_v{7, 3, 7, 49, 0, 3, 3};
  Tensor rows = idx(rows_v, {7});
  std::vector<double> expect;
  for (int64_t r : rows_v) expect.insert(expect.end(), tv.begin() + r * 300, tv.begin() + (r + 1) * 300);
  test::expect_values(index_select(table, 0, rows), expect);
  Tensor src = rnd({7, 300}, kFloat64);
  auto sv = src.to_vector<double>();
  std::vector<double> added(50 * 300, 0.0);
  for (size_t j = 0; j < rows_v.size(); ++j)
    for (int c = 0; c < 300; ++c) added[rows_v[j] * 300 + c] += sv[j * 300 + c];
  Tensor bidx = idx(rows_v, {7, 1}).expand({7, 300});
  test::expect_values(scatter_add(zeros({50, 300}, opts(kFloat64)), 0, bidx, src), added, 1e-12);
  // ... and a per-row gather with many rows (the CPU splits them across threads).
  const int64_t n = 40000;
  Tensor logits = rnd({n, 3});
  Tensor labels = randint(0, 3, {n, 1}, opts(kInt64), &gen_);
  auto lv = logits.to_vector<double>();
  auto yv = labels.to_vector<int64_t>();
  std::vector<double> picked(n);
  for (int64_t r = 0; r < n; ++r) picked[r] = lv[r * 3 + yv[r]];
  test::expect_values(gather(logits, 1, labels), picked);
}

TEST_P(IndexGatherTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor rows = idx({2, 0, 2, 1}, {4});  // repeated: index_select's gradient accumulates
  EXPECT_TRUE(gradcheck([&](const TensorList& x) { return index_select(x[0], 0, rows); }, {leaf({3, 2})}));
  Tensor gi = idx({1, 1, 0, 2, 0, 0}, {2, 3});
  EXPECT_TRUE(gradcheck([&](const TensorList& x) { return gather(x[0], 1, gi); }, {leaf({2, 4})}));
  Tensor unique = idx({2, 0, 1, 0, 1, 2}, {2, 3});  // distinct per column: scatter's gradient is well defined
  EXPECT_TRUE(gradcheck([&](const TensorList& x) { return scatter(x[0], 0, unique, x[1]); },
                        {leaf({3, 3}), leaf({2, 4})}));
  EXPECT_TRUE(gradcheck([&](const TensorList& x) { return scatter(x[0], 0, unique, 0.5); }, {leaf({3, 3})}));
  EXPECT_TRUE(gradcheck([&](const TensorList& x) { return scatter_add(x[0], 1, gi, x[1]); },
                        {leaf({2, 3}), leaf({3, 3})}));
  // In place on a non-leaf.
  EXPECT_TRUE(gradcheck(
      [&](const TensorList& x) {
        Tensor y = mul(x[0], x[0]);
        scatter_add_(y, 1, gi, x[1]);
        return y;
      },
      {leaf({2, 3}), leaf({2, 3})}));
  EXPECT_TRUE(gradcheck(
      [&](const TensorList& x) {
        Tensor y = mul(x[0], 2.0);
        scatter_(y, 0, unique, x[1]);
        return y;
      },
      {leaf({3, 3}), leaf({2, 3})}));
  Tensor w = leaf({2, 3});
  EXPECT_THROW(scatter_(w, 0, unique, rnd({2, 3}, kFloat64)), AutogradError);  // leaf requiring grad
}
INSTANTIATE_DEVICE_TESTS(IndexGatherTest);
}  // namespace
}  // namespace kiln
