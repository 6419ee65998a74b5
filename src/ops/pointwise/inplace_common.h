// Helpers shared by the in-place op files: validation in PyTorch's order and the write into self.
#pragma once
#include <vector>

#include "ops/pointwise/pointwise_common.h"

namespace kiln::ops {
/// Writes r (computed out of place, possibly in a wider dtype) into self without recording autograd.
void store_result(const Tensor& self, const Tensor& r);
/// Checks devices, the result shape and dtype against self, then autograd's in-place rules (bumping self's
/// version). Returns whether the op must be recorded for autograd.
bool begin_inplace(const char* op, const Tensor& self, const std::vector<const Tensor*>& others, const Shape& result_shape,
                   DType result_dtype);
/// Saves an operand of an in-place op on self. An operand that shares self's storage (self itself, its base or
/// another view of it) may come to have the node saving it in its history (self's, or its base's through
/// CopySlices): it is saved without its graph, or node and tensor would keep each other alive. The write bumps
/// the shared version, so its backward refuses the stale value anyway, as PyTorch's does.
inline autograd::SavedTensor save_inplace_operand(const Tensor& operand, const Tensor& self) {
  return autograd::SavedTensor(operand, operand.defined() && operand.storage() == self.storage());
}
/// self = op(self, b) computed in rt: straight into self when rt is self's dtype, else wider then stored.
void binary_inplace(const char* op, const Tensor& self, const Tensor& b, BinaryOp bop, DType rt, const Scalar& alpha);
/// self = op(self, s) (or op(s, self) when scalar_first), as binary_inplace.
void binary_scalar_inplace(const char* op, const Tensor& self, const Scalar& s, BinaryOp bop, DType rt, const Scalar& alpha,
                           bool scalar_first);
}  // namespace kiln::ops
