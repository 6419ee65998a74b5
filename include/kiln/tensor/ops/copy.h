// Copies between devices and dtypes: copy_, to, contiguous, clone.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln {

/// Copies src into dst (broadcasting src, converting dtype, across devices). Asynchronous only when
/// non_blocking and the host side is pinned, as in PyTorch.
const Tensor& copy_(const Tensor& dst, const Tensor& src, bool non_blocking = false);
Tensor to(const Tensor& t, Device device, DType dtype, bool non_blocking = false, bool copy = false);
Tensor contiguous(const Tensor& t);
Tensor clone(const Tensor& t);
}  // namespace kiln
