// Internal as_strided: a view by explicit geometry, and its gradient. Autograd replays views with it.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln::ops {

/// A tensor of `sizes` and `strides` over fresh storage just large enough for them (offset 0), so that a
/// gradient can be laid out like a tensor that is not contiguous. Requires non-negative strides.
Tensor empty_strided(const Shape& sizes, const Shape& strides, const TensorOptions& opts);

/// The view of t's storage with the given geometry (storage_offset absolute, as t.storage_offset()), recorded
/// as AsStridedBackward when t requires grad and tracked as a view of t. Requires the geometry to lie inside
/// t's elements (not checked: internal callers derive it from an existing view of t).
Tensor as_strided(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t storage_offset);

/// A view's geometry inside its base's storage: what as_strided needs to find the view in a gradient laid out
/// like the base.
struct ViewGeometry {
  Shape base_sizes, base_strides;
  Shape sizes, strides;
  int64_t offset = 0;  // the view's storage offset minus the base's
  ViewGeometry() = default;
  ViewGeometry(const Tensor& base, const Tensor& view)
      : base_sizes(base.sizes()), base_strides(base.strides()), sizes(view.sizes()), strides(view.strides()),
        offset(view.storage_offset() - base.storage_offset()) {}
};

/// The base's gradient from the view's gradient g: zero outside the view, g inside it, and the sum of g's
/// elements where the view repeats one element (a stride-0 dimension, as after expand). Recorded when grad
/// mode is on, so it is differentiable (create_graph).
Tensor as_strided_backward(const Tensor& g, const ViewGeometry& geo);

/// True when some elements of t share one memory location through a stride-0 dimension (expand): the only
/// overlap kiln's view ops can make.
bool has_stride0_overlap(const Tensor& t);
}  // namespace kiln::ops
