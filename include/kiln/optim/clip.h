// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once
#include <vector>

#include "kiln/tensor/tensor.h"

namespace kiln::optim {

/// Scales the gradients of `parameters` in place so that their joint norm_type-norm is at most max_norm
/// (by max_norm / (total + 1e-6) when it is above). Parameters without a gradient are skipped.
/// Returns the total norm before clipping as a 0-dim tensor on the first gradient's device (0 when there
/// are no gradients). norm_type may be INFINITY. Nothing waits on the device unless error_if_nonfinite,
/// which reads the norm back and throws ValueError when it is NaN or infinite (gradients left unchanged).
Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
Tensor clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Clamps every gradient element of `parameters` to [-clip_value, clip_value] in place.
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
void clip_grad_value_(const Tensor& parameter, double clip_value);
}  // namespace kiln::optim
