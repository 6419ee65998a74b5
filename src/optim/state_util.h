// Helpers the optimizers share for making their state buffers.
#pragma once
#include "kiln/tensor/ops/creation.h"

namespace kiln::optim::detail {
/// A contiguous buffer shaped like the parameter on its device and dtype (contiguous so the fused kernels apply
/// even when the parameter itself is a strided view), filled with value.
inline Tensor state_full(const Tensor& param, double value) {
  return full(param.sizes(), value, TensorOptions(param.dtype()).device(param.device()));
}
inline Tensor state_zeros(const Tensor& param) {
  return zeros(param.sizes(), TensorOptions(param.dtype()).device(param.device()));
}
inline Tensor state_empty(const Tensor& param) {
  return empty(param.sizes(), TensorOptions(param.dtype()).device(param.device()));
}
}  // namespace kiln::optim::detail
