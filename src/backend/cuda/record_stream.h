// The caching allocator's record_stream hook, declared host-safe for Tensor::record_stream (no cuda_runtime.h).
#pragma once
#include "kiln/cuda/cuda.h"

namespace kiln::cuda::detail {
/// Marks the live caching-allocator block that starts at `ptr`, on stream's device, as used by work queued on
/// `stream` (a null handle is kiln's default stream): when the block is freed, it is not handed out again
/// until that stream's work queued before the free has completed. Returns false, doing nothing, when `ptr` is
/// not the start of a live block of that device (memory kiln does not own). Throws DeviceError for a device
/// that does not exist. Defined in caching_allocator_cuda.cpp; the CPU-only build's stand-in throws.
bool caching_record_stream(void* ptr, const Stream& stream);
}  // namespace kiln::cuda::detail
