// MemoryBudget: an allocator's counters, its optional byte limit and its out-of-memory back-off, as a plain
// host class shared by the CUDA caching allocator and the CPU allocator (and driven directly by CPU tests).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/core/allocator.h"

namespace kiln::detail {

/// Bytes as "1.50 MiB" (binary units).
std::string human_bytes(double bytes);

/// Counts what an allocator holds and decides whether it may hold more. Not thread-safe: the owning
/// allocator calls it under its own lock.
///
/// "Reserved" is what the allocator took from the system (cudaMalloc, posix_memalign), live or cached;
/// "allocated" is what tensors use now. The limit caps reserved bytes, as PyTorch's
/// set_per_process_memory_fraction does: growing past it fails exactly like a full device, after the
/// allocator has given back its cache and retried.
class MemoryBudget {
 public:
  /// 0 means no limit.
  void set_limit(int64_t bytes) { limit_ = bytes < 0 ? 0 : bytes; }
  int64_t limit() const { return limit_; }
  /// Whether reserving `bytes` more stays within the limit.
  bool fits(size_t bytes) const {
    return limit_ == 0 || static_cast<int64_t>(bytes) <= limit_ - stats_.reserved_bytes;
  }

  /// Reserves `bytes` from the system with `try_reserve(bytes) -> void*` (nullptr when the system refuses).
  /// When the limit or the system says no, calls `release_cached()` (which gives cached, unused memory back
  /// through on_release) and tries once more. Returns nullptr, counting an OOM, when that fails too: the
  /// caller then throws OutOfMemoryError with its own message and summary().
  template <typename TryReserve, typename ReleaseCached>
  void* reserve(size_t bytes, TryReserve&& try_reserve, ReleaseCached&& release_cached) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt == 1) release_cached();
      if (!fits(bytes)) continue;
      if (void* p = try_reserve(bytes)) {
        on_reserve(bytes);
        return p;
      }
    }
    ++stats_.num_ooms;
    return nullptr;
  }

  void on_reserve(size_t bytes);
  void on_release(size_t bytes) { stats_.reserved_bytes -= static_cast<int64_t>(bytes); }
  void on_alloc(size_t bytes);
  void on_free(size_t bytes) {
    stats_.allocated_bytes -= static_cast<int64_t>(bytes);
    ++stats_.num_frees;
  }
  /// Counts an OOM the caller detected itself (a request too large to round, for instance).
  void on_oom() { ++stats_.num_ooms; }
  void reset_peak() {
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
    stats_.peak_reserved_bytes = stats_.reserved_bytes;
  }
  /// The counters, with limit_bytes filled in (num_cached_blocks is the allocator's to fill).
  MemoryStats stats() const {
    MemoryStats s = stats_;
    s.limit_bytes = limit_;
    return s;
  }

 private:
  MemoryStats stats_;
  int64_t limit_ = 0;
};

/// A table like torch.cuda.memory_summary(): allocated and reserved (current and peak), the limit, cached
/// memory and blocks, allocation, free and OOM counts. `device` names the device; `total_bytes` is its
/// capacity (0 when unknown).
std::string memory_summary_table(const std::string& device, const MemoryStats& stats, int64_t total_bytes);

}  // namespace kiln::detail
