// bfloat16 GEMM through oneDNN's matmul (built with KILN_ONEDNN): AMX or AVX-512 BF16 instructions where the CPU
// has them, float32 accumulation and one rounding of each result, as torch's CPU bfloat16 matmul.
#pragma once
#include "ops/linalg/linalg_kernels.h"

namespace kiln::ops {
/// Runs p (dtype bfloat16) and returns true, or returns false without touching C when oneDNN has no primitive for
/// it (then the caller widens to float32 and calls sgemm).
bool onednn_bf16_gemm(const GemmParams& p);
}  // namespace kiln::ops
