// Dispatch stubs of batch normalisation over dim 1 of a contiguous [N, C, S] tensor (S: the flattened spatial
// dims, 1 for [N, C]).
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

struct BatchNormGeometry {
  int64_t n = 0, c = 0, s = 1;
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU)
};

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
