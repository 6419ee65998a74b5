// Device-side value checks that never make the host wait: a check kernel finds the first bad element, and
// one thread records it (ops::CheckFailure) in host-mapped memory of its device. The host raises it at its
// next wait for that device (host_wait.h), as PyTorch reports device-side asserts, but the process stays
// usable: the record is cleared once raised. Only the first failure since the last report is kept.
#pragma once
#include <cstdint>

#include "ops/check/check_failure.h"

namespace kiln::cuda::detail {

/// The record a device-side check writes; `ready` is written last.
struct PendingFailure {
  ops::CheckFailure failure;
  int32_t ready = 0;
};

/// Where the checks of one device write (device-side addresses).
struct DeviceCheckSlot {
  PendingFailure* pending = nullptr;  // host-mapped: the host reads it after a wait without a copy
  unsigned int* claim = nullptr;      // device memory: the first failure takes it; the host re-arms it
};

/// The slot of `device`, made on its first use (one page-locked record and one device word per GPU).
DeviceCheckSlot device_check_slot(int device);

/// Takes a recorded failure out of `p` (host side): true and `out` filled when one was ready.
inline bool take_pending_failure(PendingFailure& p, ops::CheckFailure& out) {
  if (__atomic_load_n(&p.ready, __ATOMIC_ACQUIRE) == 0) return false;
  out = p.failure;
  __atomic_store_n(&p.ready, 0, __ATOMIC_RELEASE);
  return true;
}

/// Called after every host wait on `device` that is not the allocator's: throws the failure a device-side
/// check recorded since the last report, if any, after re-arming the slot.
void raise_device_check_failure(int device);

/// Called after queuing a device-side check on `stream` (a cudaStream_t): with CUDA_LAUNCH_BLOCKING=1 it
/// waits for the check and raises its failure at the op that queued it.
void after_device_check(void* stream, int device);

#if defined(__CUDACC__)
/// Records `f` unless a failure is already pending. Called by a single thread.
__device__ inline void record_failure(const DeviceCheckSlot& slot, const ops::CheckFailure& f) {
  if (atomicCAS(slot.claim, 0u, 1u) != 0u) return;
  slot.pending->failure = f;
  __threadfence_system();  // the record reaches host memory before the flag that publishes it
  *reinterpret_cast<volatile int32_t*>(&slot.pending->ready) = 1;
}
#endif
}  // namespace kiln::cuda::detail
