// StorageImpl: owns (or wraps) one allocation and returns it to its allocator.
#include "kiln/tensor/storage.h"

namespace kiln {

StorageImpl::StorageImpl(size_t nbytes, Device device, Allocator* allocator, bool pinned)
    : data_(allocator->allocate(nbytes, device)), nbytes_(nbytes), device_(device), allocator_(allocator),
      pinned_(pinned) {}

StorageImpl::StorageImpl(void* data, size_t nbytes, Device device, void (*deleter)(void*, void*), void* ctx)
    : data_(data), nbytes_(nbytes), device_(device), allocator_(nullptr), pinned_(false),
      external_deleter_(deleter), external_ctx_(ctx) {}

StorageImpl::~StorageImpl() {
  if (allocator_) allocator_->deallocate(data_, device_);
  else if (external_deleter_) external_deleter_(data_, external_ctx_);
}
}  // namespace kiln
