// Front-end helpers of the reduce family shared by reduce.cpp, stats.cpp and softmax.cpp: dim lists,
// running a reduction kernel, and reshaping gradients back over the reduced dims.
#pragma once
#include <vector>

#include "kiln/tensor/tensor.h"
#include "ops/reduce/reduce_kernels.h"

namespace kiln::ops {

/// The reduced dims of one call, resolved against the input's shape.
struct ReduceDims {
  std::vector<bool> mask;  // per input dim: reduced?
  Shape keep_shape;        // output shape with keepdim=true (reduced dims become 1)
  Shape out_shape;         // output shape with keepdim=false
  int64_t K = 1;           // elements per output (product of the reduced sizes)
  Shape dims;              // the reduced dims, wrapped and sorted
  const Shape& shape(bool keepdim) const { return keepdim ? keep_shape : out_shape; }
};

/// Wraps negative dims (IndexError when out of range) and refuses repeats (ValueError). An empty list
/// means every dim, as torch.sum(x, dim=[]).
ReduceDims resolve_dims(const Tensor& a, const Shape& dims, const char* op);
ReduceDims resolve_dim(const Tensor& a, int64_t dim, const char* op);

/// Throws IndexError, like torch, when an op without identity (max, argmax, ...) reduces zero elements.
void check_nonempty_reduction(const Tensor& a, const ReduceDims& rd, const char* op);

/// Runs kind over a (no autograd). Returns the values in out_dtype (undefined when !want_values) and,
/// for ArgMax/ArgMin, sets *indices to the int64 indices.
Tensor run_reduce(const Tensor& a, const ReduceDims& rd, bool keepdim, ReduceKind kind, DType out_dtype,
                  double param = 0, Tensor* indices = nullptr, bool want_values = true);

/// A keepdim-shaped view of an output or its gradient (inserts the reduced dims as size 1).
Tensor to_keepdim(const Tensor& t, const ReduceDims& rd, bool keepdim);
/// The gradient of a reduction's output broadcast back over the input's shape.
Tensor expand_grad(const Tensor& g, const ReduceDims& rd, bool keepdim, const Shape& in_shape);

/// DTypeError unless a is floating (message names the op, the dtype and the fix).
void check_floating(const Tensor& a, const char* op);
}  // namespace kiln::ops
