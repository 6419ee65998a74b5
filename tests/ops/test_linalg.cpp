// Forward tests of mm, bmm, matmul, addmm and linear against a float64 host reference, on every device.
#include <limits>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_close;

// A host tensor: row-major float64 values and a shape.
struct Host {
  std::vector<double> v;
  Shape s;
};
Host host(const Tensor& t) { return {t.to_vector<double>(), t.sizes()}; }

// torch.matmul written independently of the library: 1-D operands are promoted and their dim removed again,
// batch dims broadcast, and each product is a plain triple loop in float64.
Host ref_matmul(Host a, Host b) {
  const bool a1 = a.s.size() == 1, b1 = b.s.size() == 1;
  if (a1) a.s.insert(a.s.begin(), 1);
  if (b1) b.s.push_back(1);
  const int64_t n = a.s[a.s.size() - 2], k = a.s.back(), m = b.s.back();
  Shape ba(a.s.begin(), a.s.end() - 2), bb(b.s.begin(), b.s.end() - 2);
  size_t nb = std::max(ba.size(), bb.size());
  while (ba.size() < nb) ba.insert(ba.begin(), 1);
  while (bb.size() < nb) bb.insert(bb.begin(), 1);
  Shape batch(nb);
  for (size_t i = 0; i < nb; ++i) batch[i] = std::max(ba[i], bb[i]);
  int64_t count = shape_numel(batch);
  Host out;
  out.v.assign(count * n * m, 0.0);
  for (int64_t bi = 0; bi < count; ++bi) {
    int64_t rest = bi, oa = 0, ob = 0, sa = 1, sb = 1;
    for (int64_t d = static_cast<int64_t>(nb) - 1; d >= 0; --d) {
      int64_t c = rest % batch[d];
      rest /= batch[d];
      oa += (ba[d] == 1 ? 0 : c) * sa;
      ob += (bb[d] == 1 ? 0 : c) * sb;
      sa *= ba[d];
      sb *= bb[d];
    }
    const double* pa = a.v.data() + oa * n * k;
    const double* pb = b.v.data() + ob * k * m;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t q = 0; q < k; ++q) s += pa[i * k + q] * pb[q * m + j];
        out.v[(bi * n + i) * m + j] = s;
      }
  }
  out.s = batch;
  if (!a1) out.s.push_back(n);
  if (!b1) out.s.push_back(m);
  return out;
}

Tensor from_host(const Host& h) { return tensor(h.v, h.s); }

class LinalgTest : public test::DeviceTest {
 protected:
  Tensor randn_on(const Shape& s, DType t = kFloat32) { return randn(s, opts(t), &gen_); }
  // Checks kiln::matmul(a, b) against the reference for the given dtype tolerance.
  void check_matmul(const Tensor& a, const Tensor& b, double rtol, double atol) {
    Tensor out = matmul(a, b);
    EXPECT_EQ(out.dtype(), a.dtype());
    EXPECT_EQ(out.device(), a.device());
    expect_close(out, from_host(ref_matmul(host(a), host(b))), rtol, atol);
  }
  Generator gen_{2024};
};

TEST_P(LinalgTest, MmMatchesReferenceF32AndF64) {
  KILN_SKIP_IF_NO_DEVICE();
  check_matmul(randn_on({5, 7}), randn_on({7, 3}), 1e-5, 1e-5);
  check_matmul(randn_on({33, 65}, kFloat64), randn_on({65, 17}, kFloat64), 1e-12, 1e-12);
  Tensor a = randn_on({4, 6}), b = randn_on({6, 2});
  expect_close(mm(a, b), from_host(ref_matmul(host(a), host(b))), 1e-5, 1e-5);
  expect_close(a.mm(b), mm(a, b));
}

TEST_P(LinalgTest, MmTransposedAndStridedOperands) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor at = randn_on({7, 5}).t(), bt = randn_on({3, 7}).t();  // transposed views: passed as BLAS Trans
  check_matmul(at, bt, 1e-5, 1e-5);
  Tensor rows = randn_on({10, 7}).slice(0, 0, 10, 2);  // row step: a leading dimension of 14
  check_matmul(rows, randn_on({7, 4}), 1e-5, 1e-5);
  Tensor cols = randn_on({5, 14}).slice(1, 0, 14, 2);  // column step: needs a copy
  check_matmul(cols, randn_on({7, 4}), 1e-5, 1e-5);
  Tensor expanded = randn_on({1, 7}).expand({5, 7});  // stride 0
  check_matmul(expanded, randn_on({7, 4}), 1e-5, 1e-5);
  Tensor row = randn_on({1, 7}), col = randn_on({7, 1});  // size-1 dims with odd strides
  check_matmul(row, col, 1e-5, 1e-5);
  check_matmul(col, row, 1e-5, 1e-5);
  check_matmul(randn_on({7, 3}).slice(1, 1, 2), randn_on({4, 1}).t(), 1e-5, 1e-5);
}

TEST_P(LinalgTest, EmptyDims) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor out = mm(randn_on({0, 3}), randn_on({3, 4}));
  EXPECT_EQ(out.sizes(), (Shape{0, 4}));
  Tensor z = mm(randn_on({2, 0}), randn_on({0, 3}));  // empty inner dim: zeros
  EXPECT_EQ(z.sizes(), (Shape{2, 3}));
  test::expect_values(z, std::vector<double>(6, 0.0));
  EXPECT_EQ(bmm(randn_on({0, 2, 3}), randn_on({0, 3, 4})).sizes(), (Shape{0, 2, 4}));
  test::expect_values(matmul(randn_on({0}), randn_on({0})), {0.0});
  EXPECT_EQ(matmul(randn_on({2, 0, 3}), randn_on({3, 5})).sizes(), (Shape{2, 0, 5}));
}

TEST_P(LinalgTest, NanAndInfPropagate) {
  KILN_SKIP_IF_NO_DEVICE();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  Tensor a = tensor(std::vector<double>{1, nan, 2, 3, inf, 0}, {2, 3}, opts(kFloat64));
  Tensor b = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2}, opts(kFloat64));
  auto v = mm(a, b).to_vector<double>();
  EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1]));
  EXPECT_TRUE(std::isinf(v[2]) && v[2] > 0);
}

TEST_P(LinalgTest, HalfAndBFloat16ComputeInFloat) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : {kFloat16, kBFloat16}) {
    Tensor a = randn_on({9, 31}).to(t), b = randn_on({31, 5}).to(t);
    Tensor out = mm(a, b);
    EXPECT_EQ(out.dtype(), t);
    double tol = t == kFloat16 ? 1e-2 : 4e-2;
    expect_close(out, from_host(ref_matmul(host(a), host(b))), tol, tol);
    Tensor ba = randn_on({3, 4, 8}).to(t), bb = randn_on({3, 8, 2}).to(t);
    expect_close(bmm(ba, bb), from_host(ref_matmul(host(ba), host(bb))), tol, tol);
  }
}

TEST_P(LinalgTest, IntegerMatmul) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : {kInt64, kInt32, kUInt8}) {
    Tensor a = randint(0, 5, {4, 6}, opts(t), &gen_), b = randint(0, 5, {6, 3}, opts(t), &gen_);
    if (dev().is_cuda()) {
      EXPECT_THROW(mm(a, b), NotImplemented);
      continue;
    }
    Tensor out = mm(a, b);
    EXPECT_EQ(out.dtype(), t);
    expect_close(out, from_host(ref_matmul(host(a), host(b))), 0, 0);
  }
  if (dev().is_cpu()) {
    Tensor a = randint(-9, 9, {2, 3, 4}, opts(kInt64), &gen_), b = randint(-9, 9, {2, 4, 3}, opts(kInt64), &gen_);
    expect_close(bmm(a, b), from_host(ref_matmul(host(a), host(b))), 0, 0);
  }
}

TEST_P(LinalgTest, BmmMatchesReference) {
  KILN_SKIP_IF_NO_DEVICE();
  check_matmul(randn_on({4, 3, 5}), randn_on({4, 5, 2}), 1e-5, 1e-5);
  Tensor a = randn_on({4, 5, 3}).transpose(1, 2), b = randn_on({2, 5, 4}).permute({2, 1, 0});
  expect_close(bmm(a, b), from_host(ref_matmul(host(a), host(b))), 1e-5, 1e-5);
  Tensor shared = randn_on({1, 3, 5}).expand({6, 3, 5});  // batch stride 0
  Tensor many = randn_on({6, 5, 2}, kFloat32);
  expect_close(bmm(shared, many), from_host(ref_matmul(host(shared), host(many))), 1e-5, 1e-5);
  // Many small products (the CPU runs them in parallel) and a few large ones.
  check_matmul(randn_on({64, 8, 8}, kFloat64), randn_on({64, 8, 8}, kFloat64), 1e-12, 1e-12);
  check_matmul(randn_on({2, 70, 80}, kFloat64), randn_on({2, 80, 90}, kFloat64), 1e-12, 1e-12);
}

TEST_P(LinalgTest, MatmulRankCases) {
  KILN_SKIP_IF_NO_DEVICE();
  const DType d = kFloat64;
  const double tol = 1e-12;
  check_matmul(randn_on({5}, d), randn_on({5}, d), tol, tol);               // dot -> 0-dim
  EXPECT_EQ(matmul(randn_on({5}, d), randn_on({5}, d)).dim(), 0);
  check_matmul(randn_on({3, 5}, d), randn_on({5}, d), tol, tol);            // matrix-vector
  check_matmul(randn_on({5}, d), randn_on({5, 4}, d), tol, tol);            // vector-matrix
  check_matmul(randn_on({2, 3, 5}, d), randn_on({5, 4}, d), tol, tol);      // batch folded into rows
  check_matmul(randn_on({2, 3, 5}, d), randn_on({5}, d), tol, tol);
  check_matmul(randn_on({5}, d), randn_on({2, 5, 4}, d), tol, tol);
  check_matmul(randn_on({3, 5}, d), randn_on({2, 5, 4}, d), tol, tol);
  check_matmul(randn_on({2, 1, 3, 5}, d), randn_on({4, 5, 6}, d), tol, tol);  // batch broadcast
  check_matmul(randn_on({1, 3, 5}, d), randn_on({2, 1, 5, 6}, d), tol, tol);
  check_matmul(randn_on({2, 3, 4, 5}, d).transpose(0, 1), randn_on({3, 2, 5, 1}, d), tol, tol);
  EXPECT_EQ(matmul(randn_on({7, 1, 3, 5}, d), randn_on({4, 5, 2}, d)).sizes(), (Shape{7, 4, 3, 2}));
}

// float32 products big enough for the CPU to take oneDNN's sgemm instead of OpenBLAS (cpu_gemm_onednn.cpp's rule:
// at least 64^3 multiply-adds, both sides of C at least 16): every operand layout, a leading dimension, a
// batch, alpha/beta, and beta = 0 ignoring a NaN self.
TEST_P(LinalgTest, LargeFloat32ProductsInEveryLayout) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t m = 70, k = 60, n = 80;
  check_matmul(randn_on({m, k}), randn_on({k, n}), 1e-4, 1e-4);
  check_matmul(randn_on({k, m}).t(), randn_on({k, n}), 1e-4, 1e-4);
  check_matmul(randn_on({m, k}), randn_on({n, k}).t(), 1e-4, 1e-4);
  check_matmul(randn_on({k, m}).t(), randn_on({n, k}).t(), 1e-4, 1e-4);
  check_matmul(randn_on({2 * m, k}).slice(0, 0, 2 * m, 2), randn_on({k, n}), 1e-4, 1e-4);  // leading dim 2k
  check_matmul(randn_on({3, m, k}), randn_on({3, k, n}), 1e-4, 1e-4);                      // bmm
  Tensor a = randn_on({m, k}), b = randn_on({k, n}), self = randn_on({m, n});
  Host prod = ref_matmul(host(a), host(b)), hs = host(self);
  std::vector<double> expect(m * n);
  for (int64_t i = 0; i < m * n; ++i) expect[i] = 0.5 * hs.v[i] + 2.0 * prod.v[i];
  test::expect_values(addmm(self, a, b, 0.5, 2.0), expect, 1e-4);
  Tensor nan_self = full({m, n}, std::numeric_limits<float>::quiet_NaN(), opts(kFloat32));
  test::expect_values(addmm(nan_self, a, b, 0, 1), prod.v, 1e-4);
}

TEST_P(LinalgTest, AddmmBetaAlphaAndBroadcastSelf) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor self = randn_on({4}, kFloat64), a = randn_on({3, 5}, kFloat64), b = randn_on({5, 4}, kFloat64);
  Host prod = ref_matmul(host(a), host(b));
  auto sv = self.to_vector<double>();
  std::vector<double> expect(12);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) expect[i * 4 + j] = 0.5 * sv[j] + 2.0 * prod.v[i * 4 + j];
  test::expect_values(addmm(self, a, b, 0.5, 2.0), expect, 1e-12);
  Tensor full_self = randn_on({3, 4}, kFloat64);
  Host fs = host(full_self);
  for (int i = 0; i < 12; ++i) expect[i] = fs.v[i] + prod.v[i];
  test::expect_values(addmm(full_self, a, b), expect, 1e-12);
  // beta = 0 ignores self, even NaN.
  Tensor nan_self = full({3, 4}, std::numeric_limits<double>::quiet_NaN(), opts(kFloat64));
  test::expect_values(addmm(nan_self, a, b, 0, 1), prod.v, 1e-12);
  // Empty inner dimension: beta * self.
  Tensor e = addmm(full_self, randn_on({3, 0}, kFloat64), randn_on({0, 4}, kFloat64), 3.0, 1.0);
  for (int i = 0; i < 12; ++i) expect[i] = 3.0 * fs.v[i];
  test::expect_values(e, expect, 1e-12);
  // Integers with integer alpha/beta.
  if (dev().is_cpu()) {
    Tensor ia = tensor(std::vector<int64_t>{1, 2, 3, 4}, {2, 2}), ib = tensor(std::vector<int64_t>{5, 6, 7, 8}, {2, 2});
    Tensor is = tensor(std::vector<int64_t>{1, 1}, {2});
    test::expect_values(addmm(is, ia, ib, 2, 3), {2 + 3 * 19, 2 + 3 * 22, 2 + 3 * 43, 2 + 3 * 50});
  }
}

TEST_P(LinalgTest, LinearMatchesReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = randn_on({2, 3, 4}, kFloat64), w = randn_on({5, 4}, kFloat64), b = randn_on({5}, kFloat64);
  Host ref = ref_matmul(host(x), host(w.t()));
  auto bv = b.to_vector<double>();
  std::vector<double> with_bias = ref.v;
  for (size_t i = 0; i < with_bias.size(); ++i) with_bias[i] += bv[i % 5];
  Tensor out = linear(x, w, b);
  EXPECT_EQ(out.sizes(), (Shape{2, 3, 5}));
  test::expect_values(out, with_bias, 1e-12);
  test::expect_values(linear(x, w), ref.v, 1e-12);
  // Non-contiguous input (its leading dims cannot be flattened without a copy) and a 1-D input.
  Tensor xt = randn_on({3, 2, 4}, kFloat64).transpose(0, 1);
  Host rt = ref_matmul(host(xt), host(w.t()));
  for (size_t i = 0; i < rt.v.size(); ++i) rt.v[i] += bv[i % 5];
  test::expect_values(linear(xt, w, b), rt.v, 1e-12);
  Tensor x1 = randn_on({4}, kFloat64);
  Tensor o1 = linear(x1, w, b);
  EXPECT_EQ(o1.sizes(), (Shape{5}));
  Host r1 = ref_matmul(host(w), host(x1));
  for (int i = 0; i < 5; ++i) r1.v[i] += bv[i];
  test::expect_values(o1, r1.v, 1e-12);
  // f32 and f16 paths; zero in_features gives the bias.
  Tensor xf = randn_on({8, 16}), wf = randn_on({3, 16}), bf = randn_on({3});
  Host rf = ref_matmul(host(xf), host(wf.t()));
  auto bfv = bf.to_vector<double>();
  for (size_t i = 0; i < rf.v.size(); ++i) rf.v[i] += bfv[i % 3];
  test::expect_values(linear(xf, wf, bf), rf.v, 1e-5);
  test::expect_values(linear(xf.to(kFloat16), wf.to(kFloat16), bf.to(kFloat16)), rf.v, 2e-2);
  Tensor e = linear(randn_on({2, 0}), randn_on({3, 0}), bf);
  test::expect_values(e, {bfv[0], bfv[1], bfv[2], bfv[0], bfv[1], bfv[2]});
}
INSTANTIATE_DEVICE_TESTS(LinalgTest);
}  // namespace
}  // namespace kiln
