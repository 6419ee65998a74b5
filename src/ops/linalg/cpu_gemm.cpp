// CPU GEMM: OpenBLAS for f32/f64 (strided and transposed operands passed straight through; oneDNN's sgemm for the
// float32 shapes it runs faster), bf16 through oneDNN's matmul, f16 (and bf16 without oneDNN) through float32
// buffers, integer dtypes by a row-blocked loop accumulating in int64.
#include <cblas.h>

#include <climits>
#include <type_traits>
#include <vector>

#include "backend/cpu/parallel.h"
#include "kiln/core/error.h"
#include "ops/linalg/linalg_kernels.h"
#if defined(KILN_WITH_ONEDNN)
#include "ops/linalg/cpu_gemm_onednn.h"
#endif

namespace kiln::ops {
namespace {

// OpenBLAS keeps a GEMM below about 64^3 multiply-adds on one thread (its SMP threshold), so batches of such
// small products run in parallel on kiln's pool; bigger ones run one after another and OpenBLAS threads each.
constexpr int64_t kSmallGemm = 64 * 64 * 64;

template <typename T>
const T* operand_at(const GemmOperand& o, int64_t b) {
  return static_cast<const T*>(o.data) + b * o.batch_stride;
}
template <typename T>
T* c_at(const GemmParams& p, int64_t b) {
  return static_cast<T*>(p.c) + b * p.c_batch_stride;
}
// Element (i, j) of op(X).
template <typename T>
T elem(const T* x, const GemmOperand& o, int64_t i, int64_t j) {
  return o.trans ? x[j * o.ld + i] : x[i * o.ld + j];
}

// Runs fn(b) for every batch: in parallel for small products, serially (OpenBLAS threads) for big ones.
template <typename F>
void for_each_batch(const GemmParams& p, const F& fn) {
  int64_t work = p.m * p.n * std::max<int64_t>(p.k, 1);
  if (p.batch > 1 && work <= kSmallGemm) {
    int64_t grain = std::max<int64_t>(1, kSmallGemm / std::max<int64_t>(work, 1) / 8);
    cpu::parallel_for(0, p.batch, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) fn(b);
    });
  } else {
    for (int64_t b = 0; b < p.batch; ++b) fn(b);
  }
}

void check_blas_int(const GemmParams& p) {
  for (int64_t v : {p.m, p.n, p.k, p.a.ld, p.b.ld, p.ldc})
    KILN_CHECK(v <= INT_MAX, p.op, ": a matrix dimension or leading dimension of ", v,
               " exceeds what 32-bit OpenBLAS accepts (", INT_MAX, ")");
}

void blas_gemm(const float* a, bool ta, int64_t lda, const float* b, bool tb, int64_t ldb, float* c, int64_t ldc,
               int64_t m, int64_t n, int64_t k, double alpha, double beta) {
#if defined(KILN_WITH_ONEDNN)
  if (prefer_onednn_sgemm(m, n, k) && onednn_sgemm(a, ta, lda, b, tb, ldb, c, ldc, m, n, k, float(alpha), float(beta)))
    return;
#endif
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              float(alpha), a, int(lda), b, int(ldb), float(beta), c, int(ldc));
}
void blas_gemm(const double* a, bool ta, int64_t lda, const double* b, bool tb, int64_t ldb, double* c, int64_t ldc,
               int64_t m, int64_t n, int64_t k, double alpha, double beta) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// k == 0: the product is empty, so C = beta * C (or zeros when beta == 0, without reading C).
template <typename T>
void scale_c(const GemmParams& p) {
  using acc_t = std::conditional_t<std::is_integral<T>::value, int64_t, double>;
  for (int64_t b = 0; b < p.batch; ++b) {
    T* c = c_at<T>(p, b);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        T& v = c[i * p.ldc + j];
        v = p.beta == 0 ? T(0) : static_cast<T>(static_cast<acc_t>(p.beta) * static_cast<acc_t>(v));
      }
  }
}

template <typename T>
void gemm_blas(const GemmParams& p) {
  check_blas_int(p);
  for_each_batch(p, [&](int64_t b) {
    blas_gemm(operand_at<T>(p.a, b), p.a.trans, p.a.ld, operand_at<T>(p.b, b), p.b.trans, p.b.ld, c_at<T>(p, b),
              p.ldc, p.m, p.n, p.k, p.alpha, p.beta);
  });
}

// f16/bf16: there is no half GEMM in OpenBLAS, so each product is widened to float32 buffers, multiplied
// by sgemm and rounded back once (as torch does on CPU).
template <typename T>
void gemm_reduced(const GemmParams& p) {
  check_blas_int(p);
  for_each_batch(p, [&](int64_t b) {
    const T* a = operand_at<T>(p.a, b);
    const T* bm = operand_at<T>(p.b, b);
    T* c = c_at<T>(p, b);
    std::vector<float> fa(p.m * p.k), fb(p.k * p.n), fc(p.m * p.n);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.k; ++j) fa[i * p.k + j] = static_cast<float>(elem(a, p.a, i, j));
    for (int64_t i = 0; i < p.k; ++i)
      for (int64_t j = 0; j < p.n; ++j) fb[i * p.n + j] = static_cast<float>(elem(bm, p.b, i, j));
    if (p.beta != 0)
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t j = 0; j < p.n; ++j) fc[i * p.n + j] = static_cast<float>(c[i * p.ldc + j]);
    blas_gemm(fa.data(), false, std::max<int64_t>(p.k, 1), fb.data(), false, std::max<int64_t>(p.n, 1), fc.data(),
              std::max<int64_t>(p.n, 1), p.m, p.n, p.k, p.alpha, p.beta);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) c[i * p.ldc + j] = static_cast<T>(fc[i * p.n + j]);
  });
}

// Integers: B is packed once per batch into int64 rows, then each row of C accumulates a_ip * B[p, :] over p,
// a contiguous inner loop the compiler vectorises. Rows run in parallel.
template <typename T>
void gemm_integer(const GemmParams& p) {
  const int64_t alpha = static_cast<int64_t>(p.alpha), beta = static_cast<int64_t>(p.beta);
  for (int64_t b = 0; b < p.batch; ++b) {
    const T* a = operand_at<T>(p.a, b);
    const T* bm = operand_at<T>(p.b, b);
    T* c = c_at<T>(p, b);
    std::vector<int64_t> packed(p.k * p.n);
    for (int64_t i = 0; i < p.k; ++i)
      for (int64_t j = 0; j < p.n; ++j) packed[i * p.n + j] = static_cast<int64_t>(elem(bm, p.b, i, j));
    int64_t grain = std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(p.n * p.k, 1));
    cpu::parallel_for(0, p.m, grain, [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> acc(p.n);
      for (int64_t i = r0; i < r1; ++i) {
        std::fill(acc.begin(), acc.end(), 0);
        for (int64_t q = 0; q < p.k; ++q) {
          int64_t av = static_cast<int64_t>(elem(a, p.a, i, q));
          if (av == 0) continue;
          const int64_t* row = packed.data() + q * p.n;
          for (int64_t j = 0; j < p.n; ++j) acc[j] += av * row[j];
        }
        T* crow = c + i * p.ldc;
        for (int64_t j = 0; j < p.n; ++j) {
          int64_t v = alpha * acc[j];
          if (beta != 0) v += beta * static_cast<int64_t>(crow[j]);
          crow[j] = static_cast<T>(v);
        }
      }
    });
  }
}

void gemm_cpu(const GemmParams& p) {
  if (p.batch == 0 || p.m == 0 || p.n == 0) return;
  KILN_DISPATCH_NUMERIC(p.dtype, p.op, [&] {
    if (p.k == 0) return scale_c<scalar_t>(p);
    if constexpr (std::is_same<scalar_t, float>::value || std::is_same<scalar_t, double>::value)
      gemm_blas<scalar_t>(p);
    else if constexpr (std::is_integral<scalar_t>::value)
      gemm_integer<scalar_t>(p);
#if defined(KILN_WITH_ONEDNN)
    else if (std::is_same<scalar_t, BFloat16>::value && onednn_bf16_gemm(p))
      return;
#endif
    else
      gemm_reduced<scalar_t>(p);
  });
}
}  // namespace
KILN_REGISTER_KERNEL(gemm_stub, kCPU, gemm_cpu);
}  // namespace kiln::ops
