// einsum: the documentation's equations against float64 loops on the host (matmul, batch matmul, trace-free
// contractions, outer products, transposes, sums, "..." broadcasting, implicit outputs), errors, gradients,
// and CUDA against the CPU.
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/linalg.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_close;
using test::expect_ref;

class EinsumTest : public test::PointwiseTest {};

// a [i, j] as a host array.
double at2(const std::vector<double>& v, int64_t cols, int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }

TEST_P(EinsumTest, MatrixEquationsMatchHostLoops) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = uni({3, 4}, -1, 1, kFloat64), b = uni({4, 5}, -1, 1, kFloat64), v = uni({4}, -1, 1, kFloat64);
  auto va = a.to_vector<double>(), vb = b.to_vector<double>(), vv = v.to_vector<double>();
  std::vector<double> mm(15, 0), mv(3, 0), outer(12), colsum(4, 0);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 5; ++k)
      for (int64_t j = 0; j < 4; ++j) mm[static_cast<size_t>(i * 5 + k)] += at2(va, 4, i, j) * at2(vb, 5, j, k);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      mv[static_cast<size_t>(i)] += at2(va, 4, i, j) * vv[static_cast<size_t>(j)];
      colsum[static_cast<size_t>(j)] += at2(va, 4, i, j);
    }
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) outer[static_cast<size_t>(i * 4 + j)] = vv[static_cast<size_t>(j)] * (i + 1.0);
  expect_ref(einsum("ij,jk->ik", {a, b}), {3, 5}, mm, 1e-12, 1e-12);
  expect_ref(einsum("ij,jk", {a, b}), {3, 5}, mm, 1e-12, 1e-12);  // implicit output: i, k
  expect_ref(einsum("ij, j -> i", {a, v}), {3}, mv, 1e-12, 1e-12);
  expect_ref(einsum("ij->j", {a}), {4}, colsum, 1e-12, 1e-12);
  expect_close(einsum("ij->ji", {a}), a.t(), 0, 0);
  expect_close(einsum("ij", {a}), a, 0, 0);
  expect_close(einsum("ba", {a}), a.t(), 0, 0);  // implicit output sorts the letters
  Tensor w = arange(1, 4, 1, opts(kFloat64));
  expect_ref(einsum("i,j->ij", {w, v}), {3, 4}, outer, 1e-12, 1e-12);
  EXPECT_NEAR(einsum("i,i->", {v, v}).item<double>(), sum(mul(v, v)).item<double>(), 1e-12);
  EXPECT_NEAR(einsum("ij->", {a}).item<double>(), sum(a).item<double>(), 1e-12);
}

TEST_P(EinsumTest, BatchedAndBroadcast) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = uni({2, 3, 4}, -1, 1, kFloat64), y = uni({2, 4, 5}, -1, 1, kFloat64);
  expect_close(einsum("bij,bjk->bik", {x, y}), bmm(x, y), 1e-12, 1e-12);
  expect_close(einsum("...ij,...jk->...ik", {x, y}), matmul(x, y), 1e-12, 1e-12);
  Tensor m = uni({4, 5}, -1, 1, kFloat64);
  expect_close(einsum("...ij,jk->...ik", {x, m}), matmul(x, m), 1e-12, 1e-12);  // "..." of one operand only
  Tensor one = uni({1, 4, 5}, -1, 1, kFloat64);
  expect_close(einsum("bij,bjk->bik", {x, one}), matmul(x, one), 1e-12, 1e-12);  // size-1 dims broadcast
  expect_close(einsum("bij->bji", {x}), x.transpose(1, 2), 0, 0);
  expect_close(einsum("bij,bij->b", {x, x}), sum(mul(x, x), {1, 2}), 1e-12, 1e-12);
  // Three operands, contracted left to right: "ij,jk,kl->il".
  Tensor p = uni({3, 4}, -1, 1, kFloat64), q = uni({4, 2}, -1, 1, kFloat64), r = uni({2, 6}, -1, 1, kFloat64);
  expect_close(einsum("ij,jk,kl->il", {p, q, r}), matmul(matmul(p, q), r), 1e-12, 1e-12);
  // A label kept for the output across a contraction (a Hadamard-then-sum pattern).
  expect_close(einsum("ij,ij->i", {p, p}), sum(mul(p, p), {1}), 1e-12, 1e-12);
}

TEST_P(EinsumTest, ErrorsNameTheEquation) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = uni({3, 4}, -1, 1), b = uni({5, 6}, -1, 1);
  EXPECT_THROW(einsum("ij,jk->ik", {a}), Error);           // operand count
  EXPECT_THROW(einsum("ij,jk->ik", {a, b}), ShapeError);   // j is 4 and 5
  EXPECT_THROW(einsum("ijk->i", {a}), ShapeError);         // too many subscripts
  EXPECT_THROW(einsum("ii->i", {uni({3, 3}, -1, 1)}), Error);  // diagonals are not supported
  EXPECT_THROW(einsum("ij->iz", {a}), Error);
  EXPECT_THROW(einsum("ij->ii", {a}), Error);
}

TEST_P(EinsumTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = leaf({2, 3, 4}), b = leaf({4, 5}), c = leaf({5});
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::TensorList& in) { return einsum("bij,jk,k->bi", {in[0], in[1], in[2]}); }, {a, b, c}));
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return einsum("bij->jb", {in[0]}); }, {a}));
}

TEST_P(EinsumTest, CudaMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "compares the CUDA results with the CPU";
  Tensor x = uni({4, 16, 32}, -1, 1), y = uni({4, 32, 8}, -1, 1);
  expect_close(einsum("bij,bjk->bik", {x, y}).cpu(), einsum("bij,bjk->bik", {x.cpu(), y.cpu()}), 1e-4, 1e-5);
}

INSTANTIATE_DEVICE_TESTS(EinsumTest);
}  // namespace
}  // namespace kiln
