// TensorOptions: dtype, device, requires_grad and pinned memory for the tensor factories.
#pragma once
#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

namespace kiln {

/// How elements are laid out: kiln has strided tensors only; the option exists so that libtorch's
/// TensorOptions().layout(kStrided) compiles.
enum class Layout : int8_t { Strided };
constexpr Layout kStrided = Layout::Strided;

/// Builder-style options, as torch::TensorOptions: TensorOptions().dtype(kFloat64).device("cuda:0").
struct TensorOptions {
  DType dtype_ = DType::Float32;
  Device device_ = Device(DeviceType::CPU);
  bool requires_grad_ = false;
  bool pinned_memory_ = false;
  bool has_dtype_ = false;  // factories like arange and full infer the dtype from their values when unset

  TensorOptions() = default;
  TensorOptions(DType t) : dtype_(t), has_dtype_(true) {}
  TensorOptions(Device d) : device_(d) {}
  TensorOptions(DeviceType t) : device_(Device(t)) {}
  TensorOptions(const char* d) : device_(Device(d)) {}
  TensorOptions dtype(DType t) const { auto o = *this; o.dtype_ = t; o.has_dtype_ = true; return o; }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; return o; }
  /// .device(kCUDA, 1), as libtorch.
  TensorOptions device(DeviceType t, int index) const { return device(Device(t, index)); }
  TensorOptions layout(Layout) const { return *this; }
  Layout layout() const { return Layout::Strided; }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }
  TensorOptions pinned_memory(bool p) const { auto o = *this; o.pinned_memory_ = p; return o; }
  DType dtype() const { return dtype_; }
  /// Whether dtype() was set explicitly (otherwise it is the float32 default).
  bool has_dtype() const { return has_dtype_; }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }
  bool pinned_memory() const { return pinned_memory_; }
};

inline TensorOptions dtype(DType t) { return TensorOptions().dtype(t); }
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
/// torch::requires_grad(): zeros({2}, requires_grad()).
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }
}  // namespace kiln
