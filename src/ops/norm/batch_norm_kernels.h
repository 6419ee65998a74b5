// Dispatch stubs of batch normalisation over dim 1 of a contiguous [N, C, S] tensor (S: the flattened spatial
// dims, 1 for [N, C]), or of a channels-last one ([N, S, C] in memory).
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

struct BatchNormGeometry {
  int64_t n = 0, c = 0, s = 1;
  bool channels_last = false;  // memory [N, S, C]: rows of C channels
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU)
};

/// The offset of element k (of n * s) of channel c.
KILN_HD int64_t bn_offset(const BatchNormGeometry& g, int64_t c, int64_t k) {
  return g.channels_last ? k * g.c + c : ((k / g.s) * g.c + c) * g.s + k % g.s;
}
/// The channel of the element at offset i.
KILN_HD int64_t bn_channel(const BatchNormGeometry& g, int64_t i) {
  return g.channels_last ? i % g.c : (i / g.s) % g.c;
}

/// Channel c's normalisation folded into y = x * scale + shift (weight and bias may be null: 1 and 0).
template <typename T>
KILN_HD void bn_fold(const T* mean, const T* invstd, const T* weight, const T* bias, int64_t c, T& scale, T& shift) {
  scale = invstd[c] * (weight ? weight[c] : T(1));
  shift = (bias ? bias[c] : T(0)) - mean[c] * scale;
}

/// One element's grad_x: scale * (grad_y - mean(grad_y) - xhat * mean(grad_y * xhat)), where scale is
/// invstd * weight and the two means are 0 outside training (the statistics are then constants).
KILN_HD double bn_grad_x(double gy, double x, double mean, double invstd, double scale, double mean_dy,
                         double mean_dy_xhat) {
  return scale * (gy - mean_dy - (x - mean) * invstd * mean_dy_xhat);
}

/// Per-channel mean and biased variance of x ([C] each, x's dtype; accumulated in double).
KILN_DECLARE_DISPATCH(batch_norm_stats_stub,
                      void (*)(const BatchNormGeometry&, const Tensor& x, Tensor& mean, Tensor& var));
/// y = (x - mean[c]) * invstd[c] * weight[c] + bias[c]; weight and bias may be undefined (1 and 0).
KILN_DECLARE_DISPATCH(batch_norm_apply_stub,
                      void (*)(const BatchNormGeometry&, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                               const Tensor& weight, const Tensor& bias, Tensor& y));
/// Gradients given grad_y: grad_weight = sum(grad_y * xhat), grad_bias = sum(grad_y), and grad_x, through the
/// batch statistics when `training` (mean and invstd then came from x) or through constants otherwise. Any
/// output left undefined is not computed.
KILN_DECLARE_DISPATCH(batch_norm_backward_stub,
                      void (*)(const BatchNormGeometry&, const Tensor& x, const Tensor& grad_y, const Tensor& mean,
                               const Tensor& invstd, const Tensor& weight, bool training, Tensor& grad_x,
                               Tensor& grad_weight, Tensor& grad_bias));
}  // namespace kiln::ops
