// Dispatch stubs of the mixed-precision helpers GradScaler runs: unscale gradients while looking for inf/NaN, and
// move the loss scale. Both read and write their scalars in device memory, so neither waits for the device.
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// The growth rule of a GradScaler (torch.amp.GradScaler's arguments).
struct ScaleUpdate {
  double growth_factor = 2.0, backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

/// grads: contiguous tensors of one floating dtype on one device, each multiplied in place by inv_scale
/// (a 0-dim float32 tensor); found_inf (0-dim float32) becomes 1 when any element was inf or NaN before scaling,
/// and is left alone otherwise. One pass over all the tensors.
KILN_DECLARE_DISPATCH(amp_unscale_stub, void (*)(const std::vector<Tensor>& grads, const Tensor& found_inf,
                                                 const Tensor& inv_scale, cuda::Stream stream));
/// scale (0-dim float32) and growth_tracker (0-dim int32) in place from found_inf (0-dim float32).
KILN_DECLARE_DISPATCH(amp_update_scale_stub, void (*)(const Tensor& scale, const Tensor& growth_tracker,
                                                      const Tensor& found_inf, const ScaleUpdate& rule,
                                                      cuda::Stream stream));
}  // namespace kiln::ops
