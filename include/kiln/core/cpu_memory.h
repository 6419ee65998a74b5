// Host memory statistics and limits of kiln's CPU allocator, the CPU twins of kiln::cuda::memory_*.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/core/allocator.h"

namespace kiln::cpu {

/// What the CPU allocator holds: allocated (live tensors), reserved (live + its cache of large blocks), peaks,
/// counts, its limit.
MemoryStats memory_stats();
int64_t memory_allocated();
int64_t memory_reserved();
int64_t max_memory_allocated();
void reset_peak_memory_stats();
/// Frees the allocator's cache of idle large blocks.
void empty_cache();
/// Caps the bytes the CPU allocator reserves (0 removes the cap). Past it an allocation frees the cache,
/// retries, then throws OutOfMemoryError as if the machine were out of memory: the way to test out-of-memory
/// handling, or to keep a process within a budget. Throws ValueError for a negative value.
void set_memory_limit(int64_t bytes);
/// The cap set by set_memory_limit (0: none).
int64_t memory_limit();
/// A readable table of memory_stats(), like torch.cuda.memory_summary().
std::string memory_summary();
/// MemAvailable and MemTotal from /proc/meminfo in bytes (0 when it cannot be read).
int64_t available_memory();
int64_t total_memory();

}  // namespace kiln::cpu
