// Gradients of the op table's unary ops: ops::<name>_backward for each row of KILN_FORALL_UNARY_OPS.
#pragma once
#include "kiln/tensor/ops/op_table.h"
#include "kiln/tensor/tensor.h"

namespace kiln::ops {

/// The gradient of y = f(x) given the output's gradient g; x or y is undefined when the row's `saves`
/// column does not keep it.
using UnaryBackwardFn = Tensor (*)(const Tensor& g, const Tensor& x, const Tensor& y);

#define KILN_DECLARE_UNARY_BACKWARD(name, ...) Tensor name##_backward(const Tensor& g, const Tensor& x, const Tensor& y);
KILN_FORALL_UNARY_OPS(KILN_DECLARE_UNARY_BACKWARD)
#undef KILN_DECLARE_UNARY_BACKWARD
}  // namespace kiln::ops
