// Storage: a reference-counted block of memory on one device, shared by a tensor and its views.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>

#include "kiln/core/allocator.h"
#include "kiln/core/device.h"

namespace kiln {

class StorageImpl {
 public:
  /// Allocates nbytes on device with allocator.
  StorageImpl(size_t nbytes, Device device, Allocator* allocator, bool pinned = false);
  /// Wraps memory kiln does not own (from_blob); deleter may be empty.
  StorageImpl(void* data, size_t nbytes, Device device, void (*deleter)(void*, void*), void* ctx);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool is_pinned() const { return pinned_; }
  /// Bumped by every in-place write; autograd compares it to detect changes to saved tensors.
  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator* allocator_;
  bool pinned_;
  void (*external_deleter_)(void*, void*) = nullptr;
  void* external_ctx_ = nullptr;
  std::atomic<uint32_t> version_{0};
};
using Storage = std::shared_ptr<StorageImpl>;
}  // namespace kiln
