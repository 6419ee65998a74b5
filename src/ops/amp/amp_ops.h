// Front ends of GradScaler's fused helpers (torch's _amp_foreach_non_finite_check_and_unscale_ and
// _amp_update_scale_). Library-internal: users reach them through amp::GradScaler.
#pragma once
#include <vector>

#include "ops/amp/amp_kernels.h"

namespace kiln::ops {

/// Multiplies every gradient by inv_scale in place and sets found_inf to 1 when any element was inf or NaN.
/// found_inf and inv_scale: one-element float32 tensors on one device; grads: floating tensors on that device,
/// of any dtype mix (one pass per dtype) and layout (a non-contiguous one goes through a contiguous copy).
void amp_non_finite_check_and_unscale_(const std::vector<Tensor>& grads, const Tensor& found_inf,
                                       const Tensor& inv_scale);

/// Moves scale (one-element float32) and growth_tracker (one-element int32) by found_inf, on their device.
void amp_update_scale_(const Tensor& scale, const Tensor& growth_tracker, const Tensor& found_inf,
                       const ScaleUpdate& rule);
}  // namespace kiln::ops
