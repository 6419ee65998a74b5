// Private internals shared by the CUDA runtime files: device checks, raw caching-allocator calls, pinned tracking.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace kiln::cuda::detail {

/// Returns `index`, or the current device when index is -1. Throws DeviceError saying why no GPU is
/// usable, or naming the bad ordinal, how many GPUs are visible and CUDA_VISIBLE_DEVICES.
int checked_device(int index);

/// The raw current stream of `device` (no check on `device`; call checked_device first).
cudaStream_t raw_stream_of(int device);

/// Device memory from the caching allocator of `device`, usable in stream order on `stream` only.
/// Returns nullptr for nbytes == 0; throws OutOfMemoryError after emptying the cache and retrying once.
/// Memory used on another stream must not be freed before that stream's work is done (there is no
/// record_stream yet: synchronise, or make `stream` wait on an Event recorded on the other stream).
void* caching_malloc(size_t nbytes, int device, cudaStream_t stream);
/// Returns memory from caching_malloc to its device's cache; never throws. nullptr is ignored.
void caching_free(void* ptr) noexcept;

/// Marks the pinned host block that contains `ptr` as read or written by work queued on `stream`: the
/// pinned allocator does not hand the block out again until that work has finished. Returns false
/// (and does nothing) when `ptr` is not inside a live block from kiln::pinned_allocator().
bool pinned_record_stream(const void* ptr, cudaStream_t stream);

}  // namespace kiln::cuda::detail
