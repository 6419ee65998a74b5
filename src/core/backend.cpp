// The registry of device backends, filled by each backend at load time.
#include "core/backend.h"

#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln {
namespace {
Backend*& slot(DeviceType t) {
  static Backend* backends[kNumDeviceTypes] = {};
  return backends[static_cast<int>(t)];
}
}  // namespace

void register_backend(DeviceType type, Backend* b) { slot(type) = b; }

Backend& backend(DeviceType type) {
  Backend* b = slot(type);
  if (!b) {
    if (type == DeviceType::CUDA) throw DeviceError("CUDA is not usable: " + cuda::unavailable_reason());
    throw DeviceError("no backend registered for this device type");
  }
  return *b;
}
}  // namespace kiln
