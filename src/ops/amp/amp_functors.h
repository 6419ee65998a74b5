// The element rules of GradScaler's kernels, shared by the CPU loop and the CUDA kernels.
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "ops/amp/amp_kernels.h"

namespace kiln::ops {

/// x - x is 0 exactly for finite x, NaN for inf and NaN (no libm call, the same on host and device).
template <typename T>
KILN_HD bool finite_value(T x) { return x - x == T(0); }

/// One gradient element: flags a non-finite value and returns it times inv_scale, computed in opmath as torch does
/// (inv_scale 1 leaves the value's bits alone).
template <typename scalar_t>
KILN_HD scalar_t unscale_element(scalar_t v, float inv_scale, bool& non_finite) {
  using acc_t = opmath_t<scalar_t>;
  acc_t x = static_cast<acc_t>(v);
  if (!finite_value(x)) non_finite = true;
  return inv_scale == 1.f ? v : static_cast<scalar_t>(x * static_cast<acc_t>(inv_scale));
}

/// torch's _amp_update_scale_: back off and restart the count after an overflow; grow after growth_interval
/// clean steps in a row, unless growing would overflow float32.
KILN_HD void update_scale_element(float& scale, int32_t& growth_tracker, float found_inf, float growth_factor,
                                         float backoff_factor, int32_t growth_interval) {
  if (found_inf != 0.f) {
    scale *= backoff_factor;
    growth_tracker = 0;
    return;
  }
  int32_t successful = growth_tracker + 1;
  if (successful == growth_interval) {
    float grown = scale * growth_factor;
    if (finite_value(grown)) scale = grown;
    growth_tracker = 0;
  } else {
    growth_tracker = successful;
  }
}
}  // namespace kiln::ops
