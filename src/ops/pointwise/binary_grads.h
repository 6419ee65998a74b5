// Gradients of the op table's generic binary ops: ops::<name>_backward for each Generic row.
#pragma once
#include <utility>
#include <vector>

#include "kiln/tensor/ops/op_table.h"
#include "kiln/tensor/tensor.h"

namespace kiln::ops {

/// The gradients of out = f(a, b) for the wanted inputs (need[0] for a, need[1] for b; leave the other
/// undefined), at the broadcast shape: the generic front end reduces them to each input's shape and dtype.
/// `out` is the forward's result (computed once, so a gradient that can use it should).
using BinaryBackwardFn = std::pair<Tensor, Tensor> (*)(const Tensor& g, const Tensor& a, const Tensor& b,
                                                       const Tensor& out, const std::vector<bool>& need);

#define KILN_DECLARE_BINARY_BACKWARD(name, E, dtypes, autocast, front)                                   \
  KILN_IF_GENERIC_##front(std::pair<Tensor, Tensor> name##_backward(const Tensor& g, const Tensor& a, const Tensor& b, \
                                                            const Tensor& out, const std::vector<bool>& need);)
KILN_FORALL_BINARY_OPS(KILN_DECLARE_BINARY_BACKWARD)
#undef KILN_DECLARE_BINARY_BACKWARD
}  // namespace kiln::ops
