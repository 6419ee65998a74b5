// Every host wait for a GPU in kiln goes through these: each counts the wait and applies the sync debug mode
// (host_sync.h) before waiting, then raises what a device-side check found (device_checks.h) unless it is
// the allocator's own wait.
#pragma once
#include <cuda_runtime_api.h>

#include "backend/cuda/host_sync.h"

namespace kiln::cuda::detail {
void wait_stream(cudaStream_t stream, int device, SyncKind kind, const char* why);
void wait_event(cudaEvent_t event, int device, SyncKind kind, const char* why);
/// Waits for all work on `device` (which must be current).
void wait_device(int device, SyncKind kind, const char* why);
}  // namespace kiln::cuda::detail
