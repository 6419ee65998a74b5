// Device: where a tensor lives ("cpu", "cuda", "cuda:1").
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace kiln {

/// The device table: enum name, the name in device strings ("cuda:1"), the name in messages.
#define KILN_FORALL_DEVICE_TYPES(_) \
  _(CPU, "cpu", "CPU")              \
  _(CUDA, "cuda", "CUDA")

#define KILN_DEVICE_ENUM_ROW(E, ...) E,
enum class DeviceType : int8_t { KILN_FORALL_DEVICE_TYPES(KILN_DEVICE_ENUM_ROW) };
#undef KILN_DEVICE_ENUM_ROW
#define KILN_DEVICE_COUNT_ROW(...) +1
/// Number of device types (a size for per-device-type arrays indexed by the enum's dense values).
constexpr int kNumDeviceTypes = 0 KILN_FORALL_DEVICE_TYPES(KILN_DEVICE_COUNT_ROW);
#undef KILN_DEVICE_COUNT_ROW
/// "cpu", "cuda": the device type's name in device strings.
const char* device_type_name(DeviceType t);
/// "CPU", "CUDA": its name in messages.
const char* device_type_label(DeviceType t);
constexpr DeviceType kCPU = DeviceType::CPU;
constexpr DeviceType kCUDA = DeviceType::CUDA;

/// A device type plus an ordinal. Device("cuda") means the current CUDA device (index -1 until resolved).
class Device {
 public:
  Device(DeviceType type = DeviceType::CPU, int index = -1);
  /// Parses "cpu", "cuda", "cuda:N"; throws DeviceError on anything else.
  Device(const std::string& spec);
  Device(const char* spec) : Device(std::string(spec)) {}

  DeviceType type() const { return type_; }
  int index() const { return index_; }
  bool has_index() const { return index_ >= 0; }
  bool is_cpu() const { return type_ == DeviceType::CPU; }
  bool is_cuda() const { return type_ == DeviceType::CUDA; }
  /// "cpu" or "cuda:N".
  std::string str() const;
  bool operator==(const Device& o) const { return type_ == o.type_ && index_ == o.index_; }
  bool operator!=(const Device& o) const { return !(*this == o); }

 private:
  DeviceType type_;
  int index_;
};

/// Fills in the current CUDA ordinal for Device("cuda") and checks that a CUDA ordinal exists.
Device resolve_device(Device d);

inline std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }
}  // namespace kiln
