// Copies between devices and dtypes: copy_, to, contiguous, clone.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln {

/// Copies src into dst (broadcasting src, converting dtype, across devices). Asynchronous only when
/// non_blocking and the host side is pinned, as in PyTorch.
const Tensor& copy_(const Tensor& dst, const Tensor& src, bool non_blocking = false);
Tensor to(const Tensor& t, Device device, DType dtype, bool non_blocking = false, bool copy = false);
Tensor contiguous(const Tensor& t);
/// t laid out in format f (t itself when it already is; Preserve returns t). Differentiable.
Tensor contiguous(const Tensor& t, MemoryFormat f);
/// A copy of t; a channels-last t gives a channels-last copy (PyTorch's preserve_format for that case), any other
/// a contiguous one.
Tensor clone(const Tensor& t);
}  // namespace kiln
