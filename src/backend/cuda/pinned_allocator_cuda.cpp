// kiln::pinned_allocator(): page-locked host memory from cudaHostAlloc, cached by size because pinning is slow.
//
// Sizes are rounded up to a power of two (at least 512 bytes) so freed blocks fit later requests, as in
// PyTorch's host allocator. A block that an asynchronous copy used (see detail::pinned_record_stream,
// called by the CUDA backend's copy_bytes) is not reused until events recorded on those streams have
// completed, so freeing a pinned tensor right after a non_blocking copy is safe.
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/stream_events.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln {
namespace {

constexpr size_t kMinPinned = 512;

size_t bucket_size(size_t n) {
  size_t s = kMinPinned;
  while (s < n) s <<= 1;
  return s;
}

struct PinnedBlock {
  size_t size = 0;
  bool in_use = false;
  // Recorded after async copies that touched the block: one per stream, re-recorded (stream_events.h).
  cuda::detail::StreamEvents<cudaStream_t, cudaEvent_t> events;
};

class PinnedAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, Device device) override {
    KILN_CHECK_DEVICE(device.is_cpu(), "pinned memory is host memory: allocate it on the CPU device, not ",
                      device.str());
    if (!cuda::is_available())
      throw DeviceError("pinned (page-locked) host memory needs a usable GPU, and there is none: " +
                        cuda::unavailable_reason() + ". Use ordinary CPU memory instead (turn pin_memory off).");
    if (nbytes == 0) return nullptr;
    if (nbytes > SIZE_MAX / 4)
      throw OutOfMemoryError(kiln::detail::str("cannot allocate ", nbytes, " bytes of pinned host memory"));
    const size_t size = bucket_size(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    collect_finished();
    auto it = free_.find(size);
    if (it != free_.end()) {
      char* p = it->second;
      free_.erase(it);
      blocks_[p].in_use = true;
      return p;
    }
    void* p = nullptr;
    // Pinned memory serves every device (unified addressing), so pin it under a device that already has a
    // context: a DataLoader worker thread's current device is 0, and pinning there would create a context
    // on GPU 0 for a job that runs on cuda:1 (as PyTorch's host allocator does, pytorch#21081).
    const int ctx_device = cuda::detail::device_with_context();
    cuda::DeviceGuard guard(ctx_device);  // -1 (no context anywhere yet): the current device, unchanged
    cudaError_t err = cudaHostAlloc(&p, size, cudaHostAllocDefault);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_free();
      err = cudaHostAlloc(&p, size, cudaHostAllocDefault);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw OutOfMemoryError(kiln::detail::str(
          "could not allocate ", size,
          " bytes of pinned (page-locked) host memory: the operating system "
          "limits how much memory can be pinned. Use fewer or smaller pinned buffers (fewer DataLoader "
          "workers or prefetched batches), or turn pin_memory off."));
    }
    KILN_CUDA_CHECK(err);
    PinnedBlock& b = blocks_[static_cast<char*>(p)];
    b.size = size;
    b.in_use = true;
    return p;
  }

  void deallocate(void* ptr, Device) noexcept override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.find(static_cast<char*>(ptr));
    if (it == blocks_.end() || !it->second.in_use) {
      std::fprintf(stderr,
                   "kiln: warning: pinned allocator asked to free %p, which it did not allocate or "
                   "already freed; ignored\n",
                   ptr);
      return;
    }
    it->second.in_use = false;
    if (it->second.events.empty())
      free_.emplace(it->second.size, it->first);
    else
      pending_.push_back(it->first);
  }

  bool record_stream(const void* ptr, cudaStream_t stream) {
    const char* p = static_cast<const char*>(ptr);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.upper_bound(const_cast<char*>(p));
    if (it == blocks_.begin()) return false;
    --it;
    if (!it->second.in_use || p >= it->first + it->second.size) return false;
    // A new event must belong to the stream's device, which the caller has made current.
    it->second.events.record(
        stream,
        [] {
          cudaEvent_t e = nullptr;
          KILN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
          return e;
        },
        [](cudaEvent_t e, cudaStream_t s) { KILN_CUDA_CHECK(cudaEventRecord(e, s)); }, event_done, destroy_event);
    return true;
  }

 private:
  static bool event_done(cudaEvent_t e) {
    const cudaError_t err = cudaEventQuery(e);
    if (err == cudaSuccess) return true;
    cudaGetLastError();  // "not ready" is an answer, not an error; any other error is a broken context,
    return err != cudaErrorNotReady;  // where the copy will never run, so the block may be reused
  }
  static void destroy_event(cudaEvent_t e) {
    if (cudaEventDestroy(e) != cudaSuccess) cudaGetLastError();
  }

  /// Moves freed blocks whose recorded copies have finished to the free lists. Caller holds mu_.
  void collect_finished() {
    for (size_t i = 0; i < pending_.size();) {
      PinnedBlock& b = blocks_[pending_[i]];
      if (!b.events.collect(event_done, destroy_event)) {
        ++i;
        continue;
      }
      free_.emplace(b.size, pending_[i]);
      pending_[i] = pending_.back();
      pending_.pop_back();
    }
  }

  /// Unpins every cached, unused block (before retrying a failed cudaHostAlloc). Caller holds mu_.
  void release_free() {
    for (auto& [size, p] : free_) {
      if (cudaFreeHost(p) != cudaSuccess) cudaGetLastError();
      blocks_.erase(p);
    }
    free_.clear();
  }

  std::mutex mu_;
  std::map<char*, PinnedBlock> blocks_;  // every block, by address, to find the one holding a pointer
  std::multimap<size_t, char*> free_;    // unused and safe to hand out, by size
  std::vector<char*> pending_;           // unused but maybe still read or written by a queued copy
};

/// Never destroyed: pinned tensors may be freed during exit, and unpinning after driver shutdown fails.
PinnedAllocator& instance() {
  static PinnedAllocator* a = new PinnedAllocator();
  return *a;
}
}  // namespace

Allocator& pinned_allocator() { return instance(); }

bool cuda::detail::pinned_record_stream(const void* ptr, cudaStream_t stream) {
  return instance().record_stream(ptr, stream);
}

}  // namespace kiln
