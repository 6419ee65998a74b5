// 64-byte-aligned host memory (cache lines and AVX-512 loads), with the CPU backend's copies.
#include <cstdlib>
#include <cstring>

#include "core/backend.h"
#include "kiln/core/error.h"

namespace kiln {
namespace {

class AlignedCpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, Device) override {
    if (nbytes == 0) return nullptr;
    void* p = nullptr;
    size_t rounded = (nbytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, rounded) != 0 || !p)
      throw OutOfMemoryError("CPU out of memory: failed to allocate " + std::to_string(nbytes) +
                             " bytes of host memory; reduce the batch size or model size");
    return p;
  }
  void deallocate(void* ptr, Device) noexcept override { std::free(ptr); }
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
  static AlignedCpuAllocator a;
  return a;
}
}  // namespace kiln
