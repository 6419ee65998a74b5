// CUDA device queries, the device scope guard, streams, events and the caching allocator's statistics.
// Host-safe: usable from code compiled without CUDA; in a CPU-only build the queries report no GPU
// and everything else throws DeviceError("kiln was built without CUDA").
#pragma once
#include <cstdint>
#include <string>

#include "kiln/core/allocator.h"
#include "kiln/core/device.h"

namespace kiln::cuda {

/// True when kiln was built with CUDA and at least one GPU is usable.
bool is_available();
/// Number of visible GPUs (CUDA_VISIBLE_DEVICES applies); 0 when none or no driver.
int device_count();
/// Why no GPU is usable ("kiln was built without CUDA", "no NVIDIA driver", ...); empty when one is.
std::string unavailable_reason();
/// Whether this build contains the CUDA backend.
bool built_with_cuda();
int current_device();
void set_device(int index);
std::string device_name(int index);
/// {major, minor}.
std::pair<int, int> compute_capability(int index);
/// {free, total} bytes, as cudaMemGetInfo.
std::pair<size_t, size_t> mem_get_info(int index);
int multiprocessor_count(int index);
/// CUDA runtime and driver versions as 13000-style integers (0 when absent).
int runtime_version();
int driver_version();
/// Waits for all work on the device (current when -1).
void synchronize(int index = -1);

/// Makes `index` the current device for the scope, like `with torch.cuda.device(index)`.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  explicit DeviceGuard(Device device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

/// A CUDA stream handle (cudaStream_t kept opaque so this header stays host-safe).
class Stream {
 public:
  Stream() = default;
  Stream(void* handle, int device) : handle_(handle), device_(device) {}
  void* handle() const { return handle_; }
  int device() const { return device_; }
  void synchronize() const;
  bool operator==(const Stream& o) const { return handle_ == o.handle_ && device_ == o.device_; }

 private:
  void* handle_ = nullptr;
  int device_ = 0;
};

/// The stream ops on `device` are queued on (kiln's default stream unless a StreamGuard says otherwise).
Stream current_stream(int device = -1);
/// kiln's per-device default stream (non-blocking with respect to the legacy stream 0).
Stream default_stream(int device = -1);
/// A new stream from a per-device pool (for copies that overlap compute).
Stream new_stream(int device = -1);

/// Makes `s` the current stream of its device for the scope.
class StreamGuard {
 public:
  explicit StreamGuard(Stream s);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
};

/// A CUDA event for ordering work between streams without blocking the host.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(const Stream& s);
  /// Makes `s` wait for the work recorded before this event.
  void wait(const Stream& s) const;
  void synchronize() const;
  bool query() const;

 private:
  void* handle_ = nullptr;
  int device_ = -1;
};

// ---- caching allocator (per device) ----
MemoryStats memory_stats(int device = -1);
int64_t memory_allocated(int device = -1);
int64_t memory_reserved(int device = -1);
int64_t max_memory_allocated(int device = -1);
void reset_peak_memory_stats(int device = -1);
/// A readable table of memory_stats(device), like torch.cuda.memory_summary().
std::string memory_summary(int device = -1);
/// Caps what the caching allocator reserves on `device` at fraction * its total memory, in (0, 1]; 1 removes
/// the cap. Past it an allocation frees the cache, retries, then throws OutOfMemoryError as if the GPU were
/// full (torch.cuda.set_per_process_memory_fraction). Memory already reserved is kept.
void set_per_process_memory_fraction(double fraction, int device = -1);
/// Returns cached, unused blocks to the driver (torch.cuda.empty_cache()).
void empty_cache();
/// Allocator used by CUDA tensors.
Allocator& caching_allocator();

// ---- host synchronisation ----
/// What a host wait for the GPU that the program did not ask for does (torch.cuda.set_sync_debug_mode):
/// nothing, print a warning naming its cause, or throw before waiting. Waits the program asks for
/// (cuda::synchronize, Stream/Event::synchronize) are never flagged.
enum class SyncDebugMode { Off, Warn, Error };
void set_sync_debug_mode(SyncDebugMode mode);
SyncDebugMode get_sync_debug_mode();
/// How often the host has waited for a GPU since the process started, by cause. Every wait in kiln goes
/// through this one counter, so a difference of two readings counts the waits of the code between them.
struct SyncCounts {
  int64_t requested = 0;  ///< the program asked: cuda::synchronize, Stream::synchronize, Event::synchronize
  int64_t implicit = 0;   ///< an op needed a result on the host: .item(), .cpu(), to_vector(), a D2H copy
  int64_t internal = 0;   ///< the allocator reclaiming memory (out of memory, empty_cache)
  int64_t total() const { return requested + implicit + internal; }
};
SyncCounts sync_counts();

/// Whether this thread is capturing a CUDA graph (inside cuda::CUDAGraph::capture, kiln/cuda/graph.h).
bool is_capturing();
}  // namespace kiln::cuda
