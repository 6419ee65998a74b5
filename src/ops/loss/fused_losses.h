// The fused losses that F::cross_entropy and F::mse_loss take where their arguments allow (the fits functions):
// one kernel forward and one backward instead of a composite of ops, each a kernel and a backward node.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln::nn {
enum class Reduction;  // kiln/nn/functional.h; declared here so that ops files need not include the nn layer
}

namespace kiln::ops {

/// Whether the fused kernels take this call: scores of 1 or 2 dims on the CPU or CUDA, and class weights (if
/// any) that need no gradient. Other calls take the composite (log_softmax, gather, weighted mean).
bool fused_cross_entropy_fits(const Tensor& input, const Tensor& weight);

/// cross_entropy of float32/float64 scores x ([N, C] or [C]) and int64/int32 class-index targets that the caller
/// has checked (shape, device, range), with class weights in x's dtype or undefined. One forward kernel (plus
/// one that reduces for Mean/Sum) and one backward kernel; under create_graph the gradient is built from
/// differentiable ops instead, so it can be differentiated again.
Tensor fused_cross_entropy(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                           nn::Reduction reduction, double label_smoothing);

/// Whether fused_mse_loss takes this call: a Mean or Sum reduction of float32/float64 tensors on the CPU or CUDA.
bool fused_mse_fits(const Tensor& input, nn::Reduction reduction);

/// mse_loss of input and a target of its shape and dtype, reduced by Mean or Sum; gradients for whichever
/// requires them (under create_graph from differentiable ops).
Tensor fused_mse_loss(const Tensor& input, const Tensor& target, nn::Reduction reduction);
}  // namespace kiln::ops
