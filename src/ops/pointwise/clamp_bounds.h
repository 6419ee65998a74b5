// clamp's bounds resolved against the input: the compute dtype, and integer bounds clipped to its range.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln::ops {
struct ClampPlan {
  DType dtype = kFloat32;
  Scalar lo, hi;
  bool has_lo = false, has_hi = false;
};
/// Promotes a with the given bounds (torch.result_type) and refuses bool; lo or hi may be null, not both.
ClampPlan plan_clamp(const char* op, const Tensor& a, const Scalar* lo, const Scalar* hi);
/// True where x lies inside the plan's bounds: where clamp passes its gradient through.
Tensor clamp_mask(const Tensor& x, const ClampPlan& p);
}  // namespace kiln::ops
