// The data of an optional kernel operand: its pointer, or null for an undefined tensor (no weight, a gradient
// not asked for), which the kernels test for.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln::ops {
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}
}  // namespace kiln::ops
