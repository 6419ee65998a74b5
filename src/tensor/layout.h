// Memory-layout questions about a tensor's strides, shared by copy_ (overlap rules) and the *_like factories.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln {
/// Dense with no element reached twice, in some order of the dims (PyTorch's is_non_overlapping_and_dense).
bool is_non_overlapping_and_dense(const Tensor& t);
/// Strides of a dense tensor shaped like `t` whose dims are laid out in t's order (PyTorch's preserve_format):
/// t's own strides when t is dense, otherwise contiguous strides in the order of t's strides.
Shape dense_strides_like(const Tensor& t);
}  // namespace kiln
