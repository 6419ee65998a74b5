// 64-byte-aligned host memory (cache lines and AVX-512 loads) with a cache of large blocks, and the CPU backend.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/backend.h"
#include "kiln/core/error.h"

namespace kiln {
namespace {

// Large blocks are kept after free and handed out again for the same size: a fresh multi-megabyte block
// costs a page fault per 4 KiB on first touch, which made out-of-place ops on large tensors run at a
// fifth of memory bandwidth. Small blocks go straight to malloc, which already recycles them.
class AlignedCpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, Device) override {
    if (nbytes == 0) return nullptr;
    if (nbytes < kCacheMin) return aligned(round_up(nbytes, 64), 64, nbytes);
    size_t size = round_up(nbytes, kCacheGranule);
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = idle_.find(size);
      if (it != idle_.end()) {
        void* p = it->second;
        idle_.erase(it);
        idle_bytes_ -= size;
        return p;
      }
    }
    void* p = nullptr;
    try {
      p = aligned(size, 4096, nbytes);
    } catch (const OutOfMemoryError&) {
      release_idle();  // give the cache back and try once more
      p = aligned(size, 4096, nbytes);
    }
    std::lock_guard<std::mutex> g(mu_);
    large_[p] = size;
    return p;
  }

  void deallocate(void* ptr, Device) noexcept override {
    if (!ptr) return;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = large_.find(ptr);
      if (it != large_.end()) {
        size_t size = it->second;
        if (idle_bytes_ + size <= kCacheLimit) {
          idle_.emplace(size, ptr);
          idle_bytes_ += size;
          return;
        }
        large_.erase(it);
      }
    }
    std::free(ptr);
  }

 private:
  static constexpr size_t kCacheMin = size_t(1) << 20;       // blocks of 1 MiB and more are cached
  static constexpr size_t kCacheGranule = size_t(64) << 10;  // sizes rounded to 64 KiB so near sizes match
  static constexpr size_t kCacheLimit = size_t(1) << 30;     // at most 1 GiB held idle
  static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

  static void* aligned(size_t size, size_t alignment, size_t asked) {
    void* p = nullptr;
    if (posix_memalign(&p, alignment, size) != 0 || !p)
      throw OutOfMemoryError("CPU out of memory: failed to allocate " + std::to_string(asked) +
                             " bytes of host memory; reduce the batch size or model size");
    return p;
  }

  void release_idle() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [size, p] : idle_) {
      large_.erase(p);
      std::free(p);
    }
    idle_.clear();
    idle_bytes_ = 0;
  }

  std::mutex mu_;
  std::unordered_map<void*, size_t> large_;  // every live or idle cached block -> its size
  std::multimap<size_t, void*> idle_;
  size_t idle_bytes_ = 0;
};

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

Allocator& cpu_allocator() {
  // Never destroyed: tensors in other static objects may be freed after this file's statics.
  static AlignedCpuAllocator* a = new AlignedCpuAllocator();
  return *a;
}
}  // namespace kiln
