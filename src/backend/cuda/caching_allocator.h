// Private internals shared by the CUDA runtime files: device checks, raw caching-allocator calls, pinned tracking.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/cuda/cuda.h"

namespace kiln::cuda::detail {

/// Returns `index`, or the current device when index is -1. Throws DeviceError saying why no GPU is
/// usable, or naming the bad ordinal, how many GPUs are visible and CUDA_VISIBLE_DEVICES.
int checked_device(int index);

/// The raw current stream of `device` (no check on `device`; call checked_device first).
cudaStream_t raw_stream_of(int device);
/// A Stream's raw handle; a null handle (a default-constructed Stream) stands for kiln's default stream of its device.
cudaStream_t raw_stream(const Stream& s);

/// Device memory from the caching allocator of `device`, usable in stream order on `stream`. Returns nullptr for
/// nbytes == 0; throws OutOfMemoryError after emptying the cache and retrying once. Memory also used on another
/// stream must be marked with caching_record_stream (Tensor::record_stream) before it is freed.
void* caching_malloc(size_t nbytes, int device, cudaStream_t stream);
/// Returns memory from caching_malloc to its device's cache; never throws. nullptr is ignored.
void caching_free(void* ptr) noexcept;

/// A new pool id for a CUDA graph's memory (never 0, which is eager memory).
uint64_t new_graph_pool();
/// Until end_allocate_to_pool, allocations on `stream` of `device` come from `pool` (a capture into a graph).
void begin_allocate_to_pool(int device, cudaStream_t stream, uint64_t pool);
void end_allocate_to_pool(int device, cudaStream_t stream) noexcept;
/// The graph that owned `pool` is gone: its free segments return to the driver (after a device wait), and the
/// others at the next empty_cache once their blocks are freed.
void release_graph_pool(int device, uint64_t pool);

/// Marks the pinned host block that contains `ptr` as read or written by work queued on `stream`: the
/// pinned allocator does not hand the block out again until that work has finished. Returns false
/// (and does nothing) when `ptr` is not inside a live block from kiln::pinned_allocator().
bool pinned_record_stream(const void* ptr, cudaStream_t stream);

}  // namespace kiln::cuda::detail
