// The per-device records of device-side checks, and the waits that raise them.
#include "backend/cuda/device_checks.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/host_wait.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda::detail {
namespace {
struct Slot {
  PendingFailure* host = nullptr;  // page-locked, mapped
  DeviceCheckSlot device;
  std::mutex report_mu;  // one thread raises a failure and re-arms the slot
};

std::mutex g_slots_mu;
std::vector<std::unique_ptr<Slot>> g_slots;  // by device; never freed (kernels may still write at exit)
std::atomic<bool> g_any_slot{false};         // the common case, no check ever queued, costs one load per wait

Slot* find_slot(int device) {
  std::lock_guard<std::mutex> lock(g_slots_mu);
  return static_cast<size_t>(device) < g_slots.size() ? g_slots[device].get() : nullptr;
}
}  // namespace

DeviceCheckSlot device_check_slot(int device) {
  std::lock_guard<std::mutex> lock(g_slots_mu);
  if (g_slots.size() <= static_cast<size_t>(device)) g_slots.resize(device + 1);
  std::unique_ptr<Slot>& s = g_slots[device];
  if (s) return s->device;
  DeviceGuard guard(device);
  auto slot = std::make_unique<Slot>();
  void* host = nullptr;
  KILN_CUDA_CHECK(cudaHostAlloc(&host, sizeof(PendingFailure), cudaHostAllocMapped | cudaHostAllocPortable));
  slot->host = new (host) PendingFailure();
  void* mapped = nullptr;
  KILN_CUDA_CHECK(cudaHostGetDevicePointer(&mapped, host, 0));
  slot->device.pending = static_cast<PendingFailure*>(mapped);
  void* claim = nullptr;
  KILN_CUDA_CHECK(cudaMalloc(&claim, sizeof(unsigned int)));
  KILN_CUDA_CHECK(cudaMemset(claim, 0, sizeof(unsigned int)));
  // The legacy stream does not order kiln's non-blocking streams: wait once, so no check sees an unset word.
  wait_stream(nullptr, device, SyncKind::Internal, "arming the device-side checks");
  slot->device.claim = static_cast<unsigned int*>(claim);
  s = std::move(slot);
  g_any_slot.store(true, std::memory_order_release);
  return s->device;
}

void raise_device_check_failure(int device) {
  if (!g_any_slot.load(std::memory_order_acquire)) return;
  Slot* slot = find_slot(device);
  if (!slot) return;
  ops::CheckFailure f;
  {
    std::lock_guard<std::mutex> lock(slot->report_mu);
    if (!take_pending_failure(*slot->host, f)) return;
    // Re-arm before raising, and wait for it: a check queued later on any stream must find the word clear.
    DeviceGuard guard(device);
    KILN_CUDA_CHECK(cudaMemset(slot->device.claim, 0, sizeof(unsigned int)));
    wait_stream(nullptr, device, SyncKind::Internal, "re-arming the device-side checks");
  }
  ops::throw_check_failure(f, device);
}

void after_device_check(void* stream, int device) {
  if (launch_blocking())
    wait_stream(static_cast<cudaStream_t>(stream), device, SyncKind::Requested, "CUDA_LAUNCH_BLOCKING=1");
}

void wait_stream(cudaStream_t stream, int device, SyncKind kind, const char* why) {
  note_host_sync(kind, why);
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (kind != SyncKind::Internal) raise_device_check_failure(device);
}

void wait_event(cudaEvent_t event, int device, SyncKind kind, const char* why) {
  note_host_sync(kind, why);
  KILN_CUDA_CHECK(cudaEventSynchronize(event));
  if (kind != SyncKind::Internal) raise_device_check_failure(device);
}

void wait_device(int device, SyncKind kind, const char* why) {
  note_host_sync(kind, why);
  KILN_CUDA_CHECK(cudaDeviceSynchronize());
  if (kind != SyncKind::Internal) raise_device_check_failure(device);
}
}  // namespace kiln::cuda::detail
