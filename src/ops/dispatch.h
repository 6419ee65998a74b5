// The op dispatch table: one row per op (a DispatchStub), one slot per device type, filled by the
// kernels' registrations in cpu.cpp and cuda.cu. An empty slot is an explicit NotImplemented. Every
// kernel call passes through a stub, so the kernel wrappers (kernel_wrappers.h) run here and only here.
#pragma once
#include <string>

#include "kiln/core/device.h"
#include "kiln/core/error.h"
#include "ops/kernel_wrappers.h"

namespace kiln::ops {

template <typename FnPtr>
struct DispatchStub;

template <typename Ret, typename... Args>
struct DispatchStub<Ret (*)(Args...)> {
  using FnPtr = Ret (*)(Args...);
  const char* name;
  FnPtr table[kNumDeviceTypes];

  FnPtr get(DeviceType t) const {
    FnPtr fn = table[static_cast<int>(t)];
    if (!fn)
      throw NotImplemented(std::string("op '") + name + "' has no " + device_type_label(t) + " kernel" +
                           (t == DeviceType::CUDA ? " (or kiln was built without CUDA)" : ""));
    return fn;
  }
  template <typename... A>
  Ret operator()(DeviceType t, A&&... args) const {
    FnPtr fn = get(t);
    if (!kernel_wrappers_active()) return fn(std::forward<A>(args)...);
    KernelCall call{name, t};
    (describe_kernel_arg(call, args), ...);  // only here, behind the check: no cost without wrappers
    KernelWrapperScope scope(call);
    return fn(std::forward<A>(args)...);
  }
};
}  // namespace kiln::ops

/// In a family's header: declares the stub `name` for kernels of type fn_type.
#define KILN_DECLARE_DISPATCH(name, fn_type) \
  using name##_fn = fn_type;                 \
  extern ::kiln::ops::DispatchStub<name##_fn> name
/// In the family's front-end .cpp: defines it (constant-initialised, so registration order is safe).
#define KILN_DEFINE_DISPATCH(name) ::kiln::ops::DispatchStub<name##_fn> name{#name, {}}
#define KILN_CONCAT_INNER(a, b) a##b
#define KILN_CONCAT(a, b) KILN_CONCAT_INNER(a, b)
/// In cpu.cpp / cuda.cu: puts fn in the stub's slot for device_type at load time.
#define KILN_REGISTER_KERNEL(name, device_type, ...)                                           \
  static const bool KILN_CONCAT(kiln_registered_, __COUNTER__) = [] {                          \
    name.table[static_cast<int>(device_type)] = __VA_ARGS__;                                   \
    return true;                                                                               \
  }()
