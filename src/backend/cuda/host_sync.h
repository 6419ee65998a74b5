// The one gate every host wait for a GPU passes: it counts the wait (cuda::sync_counts) and applies the sync
// debug mode. Host-only and built with or without CUDA, so the CPU tests check the policy itself.
#pragma once

namespace kiln::cuda::detail {

enum class SyncKind {
  Requested,  // the program asked (cuda::synchronize, Stream/Event::synchronize)
  Implicit,   // an op needs the GPU's result on the host (.item(), .cpu(), a blocking D2H copy)
  Internal,   // the allocator reclaiming memory
};

/// Called just before the host waits. For an Implicit wait, SyncDebugMode::Warn prints `why` and Error
/// throws (before any waiting happens, so the program's state is unchanged).
void note_host_sync(SyncKind kind, const char* why);

/// Marks this thread as inside (or out of) a CUDA-graph capture (cuda::CUDAGraph::capture). While it is, every
/// note_host_sync throws: a wait cannot be captured, and CUDA would invalidate the capture with a less clear error.
void set_capturing(bool on);

/// Whether CUDA_LAUNCH_BLOCKING=1 asks for every device-side check to be waited for at its op.
bool launch_blocking();
}  // namespace kiln::cuda::detail
