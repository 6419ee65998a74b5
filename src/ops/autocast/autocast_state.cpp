// Autocast's thread-local state (per device type), its policy per category and device, and the per-region cache
// of parameter casts.
#include "kiln/amp/autocast.h"

#include <unordered_map>

#include "ops/autocast/autocast_inputs.h"
#include "kiln/core/error.h"

namespace kiln::amp {
namespace {
struct DeviceState {
  bool enabled = false;
  DType dtype = kFloat32;  // set on first enable
};
struct ThreadState {
  DeviceState device[kNumDeviceTypes];
  int enabled_count = 0;  // device types with enabled == true
  int off = 0;            // live AutocastOff scopes
  int depth = 0;          // live Autocast scopes; the cache is dropped when it returns to 0
  // A parameter's cast, kept while a region is open so a weight used by several ops is cast once. Holding the
  // source keeps its address from being reused; the version catches an in-place update inside the region.
  struct CachedCast {
    Tensor source, cast;
    uint32_t version;
  };
  std::unordered_map<const void*, CachedCast> cache;
};
thread_local ThreadState tls;

DeviceState& state_of(DeviceType t) { return tls.device[static_cast<int>(t)]; }

void set_enabled(DeviceType t, bool enabled) {
  DeviceState& s = state_of(t);
  if (s.enabled != enabled) tls.enabled_count += enabled ? 1 : -1;
  s.enabled = enabled;
}

void check_dtype(DeviceType t, DType dtype) {
  KILN_CHECK_DTYPE(dtype == kFloat16 || dtype == kBFloat16, "Autocast: dtype must be float16 or bfloat16, got ",
                   dtype_name(dtype));
}

Tensor cached_cast(const Tensor& t, DType target) {
  const bool cacheable = t.dtype() == kFloat32 && t.requires_grad() && t.is_leaf() && tls.depth > 0;
  if (!cacheable) return t.to(target);
  auto it = tls.cache.find(t.impl());
  if (it != tls.cache.end() && it->second.version == t._version() && it->second.cast.dtype() == target)
    return it->second.cast;
  Tensor cast = t.to(target);
  tls.cache[t.impl()] = {t, cast, t._version()};
  return cast;
}
}  // namespace

DType default_autocast_dtype(DeviceType t) { return t == DeviceType::CUDA ? kFloat16 : kBFloat16; }

bool is_autocast_enabled(DeviceType t) { return state_of(t).enabled && tls.off == 0; }

DType get_autocast_dtype(DeviceType t) {
  const DeviceState& s = state_of(t);
  return s.dtype == kFloat32 ? default_autocast_dtype(t) : s.dtype;
}

void clear_autocast_cache() { tls.cache.clear(); }

Autocast::Autocast(DeviceType device_type, bool enabled)
    : Autocast(device_type, get_autocast_dtype(device_type), enabled) {}

Autocast::Autocast(DeviceType device_type, DType dtype, bool enabled)
    : device_type_(device_type),
      prev_enabled_(state_of(device_type).enabled),
      prev_dtype_(state_of(device_type).dtype) {
  check_dtype(device_type, dtype);
  set_enabled(device_type, enabled);
  state_of(device_type).dtype = dtype;
  ++tls.depth;
}

Autocast::~Autocast() {
  set_enabled(device_type_, prev_enabled_);
  state_of(device_type_).dtype = prev_dtype_;
  if (--tls.depth == 0) tls.cache.clear();
}

namespace detail {
int enabled_device_types() { return tls.off == 0 ? tls.enabled_count : 0; }

size_t autocast_cache_size() { return tls.cache.size(); }

AutocastOff::AutocastOff() { ++tls.off; }
AutocastOff::~AutocastOff() { --tls.off; }

namespace {
// The category an op has on this device type: CUDA runs more ops in float32 than the CPU does (torch's lists).
AutocastCategory on_device(AutocastCategory c, DeviceType t) {
  if (c == AutocastCategory::Float32OnCuda)
    return t == DeviceType::CUDA ? AutocastCategory::Float32 : AutocastCategory::Unchanged;
  return c;
}
bool eligible(const Tensor* t, DeviceType device_type) {
  return t != nullptr && t->defined() && is_floating_point(t->dtype()) && t->dtype() != kFloat64 &&
         t->device().type() == device_type;
}
}  // namespace

void AutocastInputs::decide(AutocastCategory category, std::initializer_list<const Tensor*> inputs) {
  const Tensor* first = nullptr;
  for (const Tensor* t : inputs)
    if (t != nullptr && t->defined() && is_floating_point(t->dtype())) {
      first = t;
      break;
    }
  if (first == nullptr) return;
  const DeviceType device_type = first->device().type();
  if (!is_autocast_enabled(device_type)) return;
  const AutocastCategory c = on_device(category, device_type);
  DType target;
  switch (c) {
    case AutocastCategory::LowerPrecision: target = get_autocast_dtype(device_type); break;
    case AutocastCategory::Float32: target = kFloat32; break;
    case AutocastCategory::Promote:
      target = get_autocast_dtype(device_type);
      for (const Tensor* t : inputs)
        if (eligible(t, device_type)) target = promote_types(target, t->dtype());
      break;
    default: return;
  }
  bool needed = false;
  for (const Tensor* t : inputs) needed = needed || (eligible(t, device_type) && t->dtype() != target);
  if (!needed) return;
  cast_.reserve(inputs.size());
  for (const Tensor* t : inputs) {
    if (t == nullptr) cast_.emplace_back();
    else if (eligible(t, device_type) && t->dtype() != target) cast_.push_back(cached_cast(*t, target));
    else cast_.push_back(*t);
  }
}
}  // namespace detail
}  // namespace kiln::amp
