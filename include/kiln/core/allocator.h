// The allocator interface each backend provides, and the counters a user can read.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kiln/core/device.h"

namespace kiln {

/// Hands out raw memory for one device type. Implementations: aligned CPU, pinned host, CUDA caching.
class Allocator {
 public:
  virtual ~Allocator() = default;
  /// Returns at least nbytes (nullptr for 0) on `device`; throws OutOfMemoryError when it cannot.
  virtual void* allocate(size_t nbytes, Device device) = 0;
  /// Gives back memory from allocate(); never throws.
  virtual void deallocate(void* ptr, Device device) noexcept = 0;
};

/// Memory statistics of one device, like torch.cuda.memory_stats().
struct MemoryStats {
  int64_t allocated_bytes = 0;       ///< bytes in live tensors
  int64_t reserved_bytes = 0;        ///< bytes held from the driver (live + cached)
  int64_t peak_allocated_bytes = 0;  ///< highest allocated_bytes since the last reset
  int64_t peak_reserved_bytes = 0;
  int64_t num_allocs = 0;            ///< allocate() calls that returned memory
  int64_t num_device_allocs = 0;     ///< of which went to the driver (cudaMalloc)
  int64_t num_frees = 0;
  int64_t num_ooms = 0;              ///< allocations refused (after the cache was freed and retried)
  int64_t num_cached_blocks = 0;     ///< free blocks held for reuse (their bytes: reserved - allocated)
  int64_t limit_bytes = 0;           ///< cap on reserved_bytes (0: none); see set_per_process_memory_fraction
};

Allocator& cpu_allocator();
/// Page-locked host memory (for fast, asynchronous host-to-GPU copies). Needs CUDA; throws otherwise.
Allocator& pinned_allocator();
}  // namespace kiln
