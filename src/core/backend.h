// The small interface a device backend provides: memory, copies and synchronisation. Ops are not on it.
#pragma once
#include <cstddef>

#include "kiln/core/allocator.h"
#include "kiln/core/device.h"

namespace kiln {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Allocator& allocator() = 0;
  /// Copies nbytes between any two devices where one of them is this backend's, ordered on the current
  /// stream(s). Host<->device copies return when done unless non_blocking and the host side is pinned;
  /// device<->device copies never block the host (as in PyTorch).
  virtual void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes,
                          bool non_blocking) = 0;
  /// Waits for all queued work on the device.
  virtual void synchronize(Device device) = 0;
  virtual int device_count() = 0;
  virtual int current_device() = 0;
};

/// The backend for a device type; throws DeviceError when kiln was built without it or no device exists.
Backend& backend(DeviceType type);
/// Called once by each backend at load time.
void register_backend(DeviceType type, Backend* backend);
}  // namespace kiln
