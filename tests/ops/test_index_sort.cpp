// Tests of sort, argsort and topk: stable order against std::stable_sort, NaN placement, dims, dtypes, long rows
// (the CUDA host fallback), errors and gradients, on every device.
#include <algorithm>
#include <limits>
#include <numeric>

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

class IndexSortTest : public test::DeviceTest {
 protected:
  Tensor leaf(const Shape& s) {
    Tensor t = randn(s, opts(kFloat64), &gen_);
    t.requires_grad_(true);
    return t;
  }
  Generator gen_{31};
};

// Stable sort permutation of one row on the host (NaN largest, as torch).
std::vector<int64_t> ref_perm(const std::vector<double>& row, bool descending) {
  std::vector<int64_t> p(row.size());
  std::iota(p.begin(), p.end(), 0);
  auto key = [&](int64_t i) { return std::isnan(row[i]) ? std::numeric_limits<double>::infinity() : row[i]; };
  auto nan_rank = [&](int64_t i) { return std::isnan(row[i]) ? 1 : 0; };
  std::stable_sort(p.begin(), p.end(), [&](int64_t a, int64_t b) {
    if (descending) return key(a) > key(b) || (key(a) == key(b) && nan_rank(a) > nan_rank(b));
    return key(a) < key(b) || (key(a) == key(b) && nan_rank(a) < nan_rank(b));
  });
  return p;
}

// Checks sort of a 2-D tensor along dim 1 against the host reference.
void check_rows(const Tensor& a, bool descending) {
  auto [values, indices] = sort(a, 1, descending);
  EXPECT_EQ(values.dtype(), a.dtype());
  EXPECT_EQ(indices.dtype(), kInt64);
  auto av = a.to_vector<double>(), vv = values.to_vector<double>();
  auto iv = indices.to_vector<int64_t>();
  const int64_t rows = a.size(0), n = a.size(1);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> row(av.begin() + r * n, av.begin() + (r + 1) * n);
    auto p = ref_perm(row, descending);
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(iv[r * n + j], p[j]) << "row " << r << " position " << j;
      if (std::isnan(row[p[j]])) EXPECT_TRUE(std::isnan(vv[r * n + j]));
      else EXPECT_EQ(vv[r * n + j], row[p[j]]);
    }
  }
}

TEST_P(IndexSortTest, StableWithTiesBothDirections) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor ties = randint(0, 4, {5, 37}, opts(kInt64), &gen_);  // many equal keys
  check_rows(ties, false);
  check_rows(ties, true);
  Tensor f = randn({3, 300}, opts(kFloat32), &gen_);
  check_rows(f, false);
  check_rows(f, true);
  check_rows(randint(0, 3, {2, 9}, opts(kInt32), &gen_).to(kFloat16), true);
  check_rows(randint(0, 3, {2, 9}, opts(kInt32), &gen_).to(kBFloat16), false);
  check_rows(randint(0, 2, {2, 9}, opts(kInt32), &gen_).to(kBool), false);
  check_rows(randint(0, 200, {2, 9}, opts(kInt32), &gen_).to(kUInt8), true);
}

TEST_P(IndexSortTest, NanSortsLargest) {
  KILN_SKIP_IF_NO_DEVICE();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  Tensor a = tensor(std::vector<double>{3, nan, -inf, 1, nan, inf, 0}, {1, 7}, opts(kFloat64));
  check_rows(a, false);
  check_rows(a, true);
  EXPECT_EQ(argsort(a, 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 6, 3, 0, 5, 1, 4}));
  EXPECT_EQ(argsort(a, 1, true).to_vector<int64_t>(), (std::vector<int64_t>{1, 4, 5, 0, 3, 6, 2}));
}

TEST_P(IndexSortTest, OtherDimsAndNonContiguous) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = randn({4, 3, 5}, opts(kFloat64), &gen_);
  auto [v0, i0] = sort(a, 0);
  // Along dim 0, each (j, k) column is sorted and the indices pick the values from a.
  EXPECT_EQ(v0.sizes(), a.sizes());
  EXPECT_TRUE(equal(v0, gather(a, 0, i0)));
  auto vv = v0.to_vector<double>();
  for (int j = 0; j < 15; ++j)
    for (int r = 1; r < 4; ++r) EXPECT_LE(vv[(r - 1) * 15 + j], vv[r * 15 + j]);
  Tensor t = randn({6, 4}, opts(kFloat32), &gen_).t();  // [4, 6], stride 1 along dim 0
  check_rows(t, false);
  check_rows(randn({5, 10}, opts(kFloat32), &gen_).slice(1, 0, 10, 3), true);
  auto [sv, si] = sort(scalar_tensor(2.0, opts()));
  EXPECT_EQ(sv.dim(), 0);
  EXPECT_EQ(si.item<int64_t>(), 0);
  EXPECT_EQ(std::get<0>(sort(zeros({3, 0}, opts()))).sizes(), (Shape{3, 0}));
  EXPECT_THROW(sort(a, 3), IndexError);
}

TEST_P(IndexSortTest, LongRows) {
  KILN_SKIP_IF_NO_DEVICE();
  // Longer than one CUDA block's shared-memory sort: takes the host fallback there.
  check_rows(randint(0, 1000, {2, 5000}, opts(kInt64), &gen_), false);
  check_rows(randn({1, 3000}, opts(kFloat32), &gen_), true);
  check_rows(randn({3, 2048}, opts(kFloat64), &gen_), false);  // exactly the shared-memory limit
}

TEST_P(IndexSortTest, Topk) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = tensor(std::vector<double>{5, 1, 4, 1, 9, 2}, {2, 3}, opts(kFloat64));
  auto [v, i] = topk(a, 2);
  test::expect_values(v, {5, 4, 9, 2});
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 1, 2}));
  auto [sv, si] = topk(a, 1, 0, /*largest=*/false);
  test::expect_values(sv, {1, 1, 2});
  EXPECT_EQ(si.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(std::get<0>(topk(a, 0)).sizes(), (Shape{2, 0}));
  std::string msg;
  try {
    topk(a, 4);
  } catch (const IndexError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("k (4)"), std::string::npos) << msg;
  EXPECT_THROW(topk(a, -1), IndexError);
  Tensor big = randn({3, 100}, opts(kFloat32), &gen_);
  auto [bv, bi] = topk(big, 7, 1);
  auto [fv, fi] = sort(big, 1, true);
  EXPECT_TRUE(equal(bv, fv.narrow(1, 0, 7)));
  EXPECT_TRUE(equal(bi, fi.narrow(1, 0, 7)));
}

TEST_P(IndexSortTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(sort(x[0], 1)); }, {leaf({3, 5})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(sort(x[0], 0, true)); }, {leaf({4, 2})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(topk(x[0], 2, 1)); }, {leaf({3, 5})}));
  EXPECT_TRUE(gradcheck([](const TensorList& x) { return std::get<0>(topk(x[0], 3, 0, false)); }, {leaf({4, 2})}));
  Tensor a = leaf({4});
  auto [v, i] = sort(a);
  EXPECT_FALSE(i.requires_grad());
  EXPECT_TRUE(v.requires_grad());
}
INSTANTIATE_DEVICE_TESTS(IndexSortTest);
}  // namespace
}  // namespace kiln
