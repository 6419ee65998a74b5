// Running sums and products along one dim (cumsum, cumprod): the line scan shared by CPU and CUDA, and its stub.
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

enum class CumulativeOp : int8_t { Sum, Prod };

/// Scans one line of K elements, `stride` apart, accumulating in opmath (float for f16/bf16) so a long half
/// line does not round at every step. The CPU loop and the CUDA kernel both run it.
template <typename scalar_t>
KILN_HD void scan_line(const scalar_t* x, scalar_t* y, int64_t K, int64_t stride, CumulativeOp op) {
  using A = opmath_t<scalar_t>;
  A acc = op == CumulativeOp::Sum ? A(0) : A(1);
  for (int64_t k = 0; k < K; ++k) {
    A v = static_cast<A>(x[k * stride]);
    acc = op == CumulativeOp::Sum ? static_cast<A>(acc + v) : static_cast<A>(acc * v);
    y[k * stride] = static_cast<scalar_t>(acc);
  }
}

/// out[o, k, i] = op over in[o, 0..k, i] for contiguous [outer, K, inner] tensors of one numeric dtype.
KILN_DECLARE_DISPATCH(cumulative_stub, void (*)(const Tensor& out, const Tensor& in, int64_t outer, int64_t K,
                                                int64_t inner, CumulativeOp op, cuda::Stream stream));
}  // namespace kiln::ops
