// amp::Autocast: mixed-precision regions with torch.autocast's semantics (per device type, nestable, thread-local).
#pragma once
#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

namespace kiln::amp {

/// The dtype autocast uses when none is given: float16 on CUDA, bfloat16 on the CPU (as torch).
DType default_autocast_dtype(DeviceType device_type);

/// Whether ops on device_type run under autocast on this thread, and in which low dtype.
bool is_autocast_enabled(DeviceType device_type);
DType get_autocast_dtype(DeviceType device_type);

/// Drops the casts of parameters that autocast keeps while a region is open (the outermost region does it on exit).
void clear_autocast_cache();

/// Inside its scope, ops on tensors of `device_type` follow PyTorch's autocast policy:
/// - matrix products (mm, bmm, matmul, addmm, linear, einsum) and convolutions run in `dtype`, their float32
///   inputs cast (a parameter once per region, however many times it is used);
/// - losses (mse, cross entropy, nll, l1, smooth_l1, huber, kl_div, bce) and prod run in float32;
///   on CUDA also softmax, log_softmax, exp, log, log1p, pow, rsqrt, reciprocal, sum, cumsum, cumprod, norm,
///   layer_norm and group_norm (on the CPU these keep their input's dtype, as torch's CPU autocast);
/// - ops with several floating inputs of different dtypes run in the widest (addcmul, addcdiv, atan2, cat, stack,
///   ...), and the remaining ops run in their inputs' dtype.
/// float64 tensors are never cast. Casts are differentiable, so gradients reach each parameter in its own dtype
/// (float32 master weights stay float32). Scopes nest; the destructor restores the enclosing state.
/// dtype: float16 or bfloat16 (DTypeError otherwise); enabled = false turns autocast off inside the scope.
class Autocast {
 public:
  explicit Autocast(DeviceType device_type, bool enabled = true);
  Autocast(DeviceType device_type, DType dtype, bool enabled = true);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  DeviceType device_type_;
  bool prev_enabled_;
  DType prev_dtype_;
};
}  // namespace kiln::amp
