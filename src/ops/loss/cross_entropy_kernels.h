// Dispatch stubs and shared math of the fused softmax cross-entropy over class-index targets. One pass over the
// scores gives each row's log-sum-exp and loss and one pass gives the gradient, where the composite took
// log_softmax, a gather, masks and a weighted mean as separate ops (each a kernel, each a backward node).
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

enum class CrossEntropyReduction { None, Mean, Sum };

/// One call: scores x [n, c] (contiguous, float32 or float64), int64 targets [n] already checked to be class
/// indices or ignore_index, optional class weights [c] in x's dtype.
struct CrossEntropyCall {
  int64_t n = 0, c = 0, ignore_index = -100;
  double label_smoothing = 0;
  CrossEntropyReduction reduction = CrossEntropyReduction::Mean;
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU)
};

/// w[t] for a row whose target is t: 0 when the row is ignored, 1 without class weights.
template <typename A, typename W>
KILN_HD A ce_target_weight(const W* weight, int64_t t, int64_t ignore_index) {
  if (t == ignore_index) return A(0);
  return weight ? static_cast<A>(weight[t]) : A(1);
}

/// A kept row's loss, PyTorch's: (1 - ls) w_t (lse - x_t) + ls / C * smooth, where smooth = sum_c w_c (lse - x_c).
template <typename A>
KILN_HD A ce_row_loss(A lse, A x_t, A w_t, A smooth, A ls, int64_t classes) {
  A loss = w_t * (lse - x_t);
  if (ls > A(0)) loss = (A(1) - ls) * loss + ls / static_cast<A>(classes) * smooth;
  return loss;
}

/// d(row loss)/d x_j for a kept row, p = softmax_j = exp(x_j - lse); w_sum = sum_c w_c (C without weights).
template <typename A>
KILN_HD A ce_row_grad(A p, bool is_target, A w_t, A w_j, A w_sum, A ls, int64_t classes) {
  A g = w_t * (is_target ? p - A(1) : p);
  if (ls > A(0)) g = (A(1) - ls) * g + ls / static_cast<A>(classes) * (w_sum * p - w_j);
  return g;
}

/// The factor of row i's gradient: the incoming gradient of its loss (None), of the sum (Sum) or of the mean,
/// divided by the kept weight (Mean; 0 when nothing was kept, so the NaN loss leaves a zero gradient).
template <typename A>
KILN_HD A ce_grad_factor(CrossEntropyReduction r, const A* grad, int64_t i, A total_weight) {
  if (r == CrossEntropyReduction::None) return grad[i];
  if (r == CrossEntropyReduction::Sum) return grad[0];
  return total_weight == A(0) ? A(0) : grad[0] / total_weight;
}

/// Forward: lse [n] and the per-row losses [n] (the result for None); for Mean and Sum also the 0-dim result
/// `out` and the kept weight `total_weight` (sum of w_t; NaN result when it is 0 under Mean, as PyTorch).
KILN_DECLARE_DISPATCH(cross_entropy_forward_stub,
                      void (*)(const CrossEntropyCall&, const Tensor& x, const Tensor& target, const Tensor& weight,
                               Tensor& lse, Tensor& row_loss, Tensor& out, Tensor& total_weight));
/// Backward: grad_x [n, c] from the incoming gradient (grad: [n] for None, 0-dim otherwise) and the forward's
/// lse and total_weight.
KILN_DECLARE_DISPATCH(cross_entropy_backward_stub,
                      void (*)(const CrossEntropyCall&, const Tensor& x, const Tensor& target, const Tensor& weight,
                               const Tensor& lse, const Tensor& grad, const Tensor& total_weight, Tensor& grad_x));
}  // namespace kiln::ops
