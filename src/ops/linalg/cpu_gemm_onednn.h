// bfloat16 GEMM through oneDNN's matmul (built with KILN_ONEDNN): AMX or AVX-512 BF16 instructions where the CPU
// has them, float32 accumulation and one rounding of each result, as torch's CPU bfloat16 matmul.
#pragma once
#include "ops/linalg/linalg_kernels.h"

namespace kiln::ops {
/// Runs p (dtype bfloat16) and returns true, or returns false without touching C when oneDNN has no primitive for
/// it (then the caller widens to float32 and calls sgemm).
bool onednn_bf16_gemm(const GemmParams& p);

/// float32 C = alpha op(A) op(B) + beta C (row-major) through oneDNN's sgemm, for the products where it beats
/// OpenBLAS (see prefer_onednn_sgemm). Returns false, C untouched, when oneDNN refuses the call.
bool onednn_sgemm(const float* a, bool ta, int64_t lda, const float* b, bool tb, int64_t ldb, float* c, int64_t ldc,
                  int64_t m, int64_t n, int64_t k, float alpha, float beta);
/// True for the float32 shapes oneDNN's JIT sgemm runs faster than OpenBLAS 0.3.21: a fixed rule (not a timing
/// at run time), so a given shape always takes the same path and results repeat from run to run.
bool prefer_onednn_sgemm(int64_t m, int64_t n, int64_t k);
}  // namespace kiln::ops
