// 64-byte-aligned host memory (cache lines and AVX-512 loads) with a cache of large blocks, counters and an
// optional byte limit (core/memory_budget.h), and the CPU backend.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/backend.h"
#include "core/memory_budget.h"
#include "kiln/core/cpu_memory.h"
#include "kiln/core/error.h"

namespace kiln {
namespace {

// Large blocks are kept after free and handed out again for the same size: a fresh multi-megabyte block
// costs a page fault per 4 KiB on first touch, which made out-of-place ops on large tensors run at a
// fifth of memory bandwidth. Small blocks are freed at once, as malloc already recycles them.
// Every live block is in live_, so allocated and reserved bytes are exact and a limit can be enforced.
class AlignedCpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, Device) override {
    if (nbytes == 0) return nullptr;
    std::lock_guard<std::mutex> g(mu_);
    if (nbytes > kMaxRequest) {
      budget_.on_oom();
      throw_oom(nbytes);
    }
    const bool cached = nbytes >= kCacheMin;
    const size_t size = cached ? round_up(nbytes, kCacheGranule) : round_up(nbytes, 64);
    void* p = nullptr;
    if (cached) {
      auto it = idle_.find(size);
      if (it != idle_.end()) {
        p = it->second;
        idle_.erase(it);
        idle_bytes_ -= size;
      }
    }
    if (!p)
      p = budget_.reserve(
          size, [&](size_t n) { return aligned(n, cached ? 4096 : 64); }, [&] { release_idle(); });
    if (!p) throw_oom(nbytes);
    live_[p] = Live{size, cached};
    budget_.on_alloc(size);
    return p;
  }

  void deallocate(void* ptr, Device) noexcept override {
    if (!ptr) return;
    std::lock_guard<std::mutex> g(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {
      // A bug in the caller (double free, or memory from elsewhere). Throwing is not allowed here.
      std::fprintf(stderr, "kiln: warning: CPU allocator asked to free %p, which it did not allocate; ignored\n", ptr);
      return;
    }
    const Live block = it->second;
    live_.erase(it);
    budget_.on_free(block.size);
    if (block.cached && idle_bytes_ + block.size <= kCacheLimit) {
      idle_.emplace(block.size, ptr);
      idle_bytes_ += block.size;
      return;
    }
    budget_.on_release(block.size);
    std::free(ptr);
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> g(mu_);
    MemoryStats s = budget_.stats();
    s.num_cached_blocks = static_cast<int64_t>(idle_.size());
    return s;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> g(mu_);
    budget_.reset_peak();
  }
  void set_limit(int64_t bytes) {
    std::lock_guard<std::mutex> g(mu_);
    budget_.set_limit(bytes);
  }
  int64_t limit() {
    std::lock_guard<std::mutex> g(mu_);
    return budget_.limit();
  }
  void empty_cache() {
    std::lock_guard<std::mutex> g(mu_);
    release_idle();
  }

 private:
  struct Live {
    size_t size;
    bool cached;
  };
  static constexpr size_t kCacheMin = size_t(1) << 20;       // blocks of 1 MiB and more are cached
  static constexpr size_t kCacheGranule = size_t(64) << 10;  // sizes rounded to 64 KiB so near sizes match
  static constexpr size_t kCacheLimit = size_t(1) << 30;     // at most 1 GiB held idle
  static constexpr size_t kMaxRequest = SIZE_MAX / 2;        // keeps the rounding from overflowing
  static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

  static void* aligned(size_t size, size_t alignment) {
    void* p = nullptr;
    if (posix_memalign(&p, alignment, size) != 0) return nullptr;
    return p;
  }

  /// Frees every idle cached block. Caller holds mu_.
  void release_idle() {
    for (auto& [size, p] : idle_) {
      budget_.on_release(size);
      std::free(p);
    }
    idle_.clear();
    idle_bytes_ = 0;
  }

  /// Caller holds mu_.
  [[noreturn]] void throw_oom(size_t asked) {
    MemoryStats s = budget_.stats();
    s.num_cached_blocks = static_cast<int64_t>(idle_.size());
    const bool limited = budget_.limit() > 0;
    throw OutOfMemoryError(detail::str(
        "CPU out of memory: tried to allocate ", detail::human_bytes(static_cast<double>(asked)), " of host memory (",
        limited ? "the limit set with kiln::cpu::set_memory_limit is " + detail::human_bytes(budget_.limit())
                : std::string("the system refused"),
        "; kiln holds ", detail::human_bytes(s.allocated_bytes), " in tensors and ",
        detail::human_bytes(s.reserved_bytes), " reserved; its cache was already freed and the allocation retried). "
        "To fix: reduce the batch size (kiln train --batch-size N, or --batch-size auto to find the largest that "
        "fits), run evaluation under kiln::NoGradGuard, free tensors you no longer need and call "
        "kiln::cpu::empty_cache()",
        limited ? ", or raise the limit" : "", ".\n", detail::memory_summary_table("cpu", s, cpu::total_memory())));
  }

  std::mutex mu_;
  std::unordered_map<void*, Live> live_;  // every block handed out and not yet freed
  std::multimap<size_t, void*> idle_;     // cached large blocks, by size
  size_t idle_bytes_ = 0;
  detail::MemoryBudget budget_;
};

AlignedCpuAllocator& aligned_allocator() {
  // Never destroyed: tensors in other static objects may be freed after this file's statics.
  static AlignedCpuAllocator* a = new AlignedCpuAllocator();
  return *a;
}

class CpuBackend final : public Backend {
 public:
  Allocator& allocator() override { return cpu_allocator(); }
  void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes, bool) override {
    if (nbytes) std::memcpy(dst, src, nbytes);
  }
  void synchronize(Device) override {}
  int device_count() override { return 1; }
  int current_device() override { return 0; }
};

const bool registered = [] {
  static CpuBackend b;
  register_backend(DeviceType::CPU, &b);
  return true;
}();
}  // namespace

Allocator& cpu_allocator() { return aligned_allocator(); }

namespace cpu {
MemoryStats memory_stats() { return aligned_allocator().stats(); }
int64_t memory_allocated() { return memory_stats().allocated_bytes; }
int64_t memory_reserved() { return memory_stats().reserved_bytes; }
int64_t max_memory_allocated() { return memory_stats().peak_allocated_bytes; }
void reset_peak_memory_stats() { aligned_allocator().reset_peak(); }
void empty_cache() { aligned_allocator().empty_cache(); }
void set_memory_limit(int64_t bytes) {
  KILN_CHECK(bytes >= 0, "cpu::set_memory_limit: the limit must be 0 (none) or a positive byte count, got ", bytes);
  aligned_allocator().set_limit(bytes);
}
int64_t memory_limit() { return aligned_allocator().limit(); }
std::string memory_summary() { return detail::memory_summary_table("cpu", memory_stats(), total_memory()); }
}  // namespace cpu
}  // namespace kiln
