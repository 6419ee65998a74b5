// Shape and view ops: they share storage with their input and record how to route gradients back.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln {

Tensor view(const Tensor& t, const Shape& shape);
Tensor reshape(const Tensor& t, const Shape& shape);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
Tensor permute(const Tensor& t, const Shape& dims);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, const Shape& shape);
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
/// The shape two shapes broadcast to; throws ShapeError naming both when they do not.
Shape broadcast_shapes(const Shape& a, const Shape& b);
/// Infers a -1 in shape from numel; throws ShapeError when impossible.
Shape infer_size(const Shape& shape, int64_t numel);
}  // namespace kiln
