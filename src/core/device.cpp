// Parsing, printing and resolving Device values.
#include "kiln/core/device.h"

#include <cctype>

#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln {

namespace {
struct DeviceTypeRow {
  const char* name;
  const char* label;
};
DeviceTypeRow device_type_row(DeviceType t) {
  switch (t) {
#define KILN_DEVICE_ROW(E, NAME, LABEL) \
  case DeviceType::E:                   \
    return {NAME, LABEL};
    KILN_FORALL_DEVICE_TYPES(KILN_DEVICE_ROW)
#undef KILN_DEVICE_ROW
  }
  return {"unknown", "unknown"};
}
}  // namespace

const char* device_type_name(DeviceType t) { return device_type_row(t).name; }
const char* device_type_label(DeviceType t) { return device_type_row(t).label; }

Device::Device(DeviceType type, int index) : type_(type), index_(index) {
  KILN_CHECK_DEVICE(index >= -1, "device index must be >= 0, got ", index);
  KILN_CHECK_DEVICE(type != DeviceType::CPU || index <= 0, "cpu device index must be 0, got ", index);
  if (type == DeviceType::CPU) index_ = -1;
}

Device::Device(const std::string& spec) : type_(DeviceType::CPU), index_(-1) {
  auto bad = [&](const std::string& why) {
    return DeviceError("invalid device string '" + spec + "': " + why +
                       " (expected \"cpu\", \"cuda\" or \"cuda:N\")");
  };
  std::string type = spec, ordinal;
  auto colon = spec.find(':');
  if (colon != std::string::npos) {
    type = spec.substr(0, colon);
    ordinal = spec.substr(colon + 1);
    if (ordinal.empty()) throw bad("missing ordinal after ':'");
    for (char c : ordinal)
      if (!std::isdigit(static_cast<unsigned char>(c))) throw bad("ordinal '" + ordinal + "' is not a number");
    if (ordinal.size() > 6) throw bad("ordinal too large");
  }
  bool known = false;
#define KILN_DEVICE_PARSE_ROW(E, NAME, LABEL) \
  if (type == NAME) {                         \
    type_ = DeviceType::E;                    \
    known = true;                             \
  }
  KILN_FORALL_DEVICE_TYPES(KILN_DEVICE_PARSE_ROW)
#undef KILN_DEVICE_PARSE_ROW
  if (!known) throw bad("unknown device type '" + type + "'");
  if (type_ == DeviceType::CPU) {
    if (!ordinal.empty() && ordinal != "0") throw bad("the cpu device has no ordinal other than 0");
    return;
  }
  index_ = ordinal.empty() ? -1 : std::stoi(ordinal);
}

std::string Device::str() const {
  if (index_ < 0) return device_type_name(type_);
  return std::string(device_type_name(type_)) + ":" + std::to_string(index_);
}

Device resolve_device(Device d) {
  if (d.is_cpu()) return d;
  if (!cuda::is_available())
    throw DeviceError("cannot use device '" + d.str() + "': " + cuda::unavailable_reason() +
                      ". Use Device(\"cpu\") or check `kiln info`.");
  int n = cuda::device_count();
  int idx = d.has_index() ? d.index() : cuda::current_device();
  if (idx >= n)
    throw DeviceError("device 'cuda:" + std::to_string(idx) + "' does not exist: " + std::to_string(n) +
                      " GPU(s) are visible (ordinals 0.." + std::to_string(n - 1) +
                      "; CUDA_VISIBLE_DEVICES renumbers them)");
  return Device(DeviceType::CUDA, idx);
}
}  // namespace kiln
