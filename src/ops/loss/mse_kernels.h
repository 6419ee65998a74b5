// Dispatch stubs of the fused mean-squared-error loss (Mean and Sum): one kernel (two for long CUDA inputs) for the
// loss and one for the gradients, where the composite took sub, mul and a reduction forward and their three
// backward nodes.
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// x and t contiguous, n elements each, float32 or float64.
struct MseCall {
  int64_t n = 0;
  bool mean = true;  // divide the sum by n
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU)
};

/// Elements per partial sum of the forward: each device adds the chunks' sums in chunk order, so the loss does
/// not depend on the thread count (CPU) or on scheduling (CUDA).
constexpr int64_t kMseChunk = 8192;

/// d loss / d x for one element, with factor = 2 g / n (Mean) or 2 g (Sum); d loss / d t is its negation.
template <typename A>
KILN_HD A mse_grad(A x, A t, A factor) {
  return factor * (x - t);
}
/// 2 g / n or 2 g.
template <typename A>
KILN_HD A mse_grad_factor(A g, int64_t n, bool mean) {
  return mean ? A(2) * g / static_cast<A>(n) : A(2) * g;
}

/// out (0-dim) = sum((x - t)^2), over n when mean (NaN for an empty mean, as PyTorch).
KILN_DECLARE_DISPATCH(mse_forward_stub, void (*)(const MseCall&, const Tensor& x, const Tensor& t, Tensor& out));
/// grad_x = mse_grad(x, t, factor) and grad_t = -grad_x, for whichever of the two is defined; grad is 0-dim.
KILN_DECLARE_DISPATCH(mse_backward_stub, void (*)(const MseCall&, const Tensor& x, const Tensor& t, const Tensor& grad,
                                                  Tensor& grad_x, Tensor& grad_t));
}  // namespace kiln::ops
