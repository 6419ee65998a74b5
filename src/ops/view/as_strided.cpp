// Internal as_strided and its gradient: how autograd replays a view on its base and on the base's gradient.
#include "ops/view/as_strided.h"

#include "autograd/views.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"

namespace kiln::ops {
namespace {
// Storage elements that sizes/strides reach from offset 0 (0 for an empty tensor).
int64_t storage_extent(const Shape& sizes, const Shape& strides) {
  KILN_CHECK_SHAPE(sizes.size() == strides.size(), "as_strided: ", sizes.size(), " sizes but ", strides.size(),
                   " strides");
  int64_t extent = 1;
  for (size_t d = 0; d < sizes.size(); ++d) {
    KILN_CHECK_SHAPE(sizes[d] >= 0 && strides[d] >= 0, "as_strided: negative size or stride in sizes ",
                     shape_to_string(sizes), ", strides ", shape_to_string(strides));
    if (sizes[d] == 0) return 0;
    extent += (sizes[d] - 1) * strides[d];
  }
  return extent;
}

Tensor strided(const Shape& sizes, const Shape& strides, const TensorOptions& opts, bool zero) {
  Shape flat{storage_extent(sizes, strides)};
  Tensor storage = zero ? zeros(flat, opts) : empty(flat, opts);
  return make_view(storage, sizes, strides, 0);
}
}  // namespace

Tensor empty_strided(const Shape& sizes, const Shape& strides, const TensorOptions& opts) {
  return strided(sizes, strides, opts, false);
}

bool has_stride0_overlap(const Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.stride(d) == 0 && t.size(d) > 1) return true;
  return false;
}

Tensor as_strided(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t storage_offset) {
  KILN_CHECK(t.defined(), "as_strided: undefined tensor");
  storage_extent(sizes, strides);  // checks the geometry's rank and signs
  Tensor v = make_view(t, sizes, strides, storage_offset);
  if (autograd::needs_grad({&t})) {
    ViewGeometry geo(t, v);
    autograd::record("AsStridedBackward0", v, {t}, [geo](const autograd::TensorList& g, const std::vector<bool>&) {
      return autograd::TensorList{as_strided_backward(g[0], geo)};
    });
  }
  autograd::track_view(t, v);
  return v;
}

Tensor as_strided_backward(const Tensor& g, const ViewGeometry& geo) {
  // A stride-0 dimension repeats one element of the base: that element's gradient is the sum over the repeats.
  Shape sizes = geo.sizes, repeated;
  for (size_t d = 0; d < sizes.size(); ++d)
    if (geo.strides[d] == 0 && sizes[d] > 1) {
      repeated.push_back(static_cast<int64_t>(d));
      sizes[d] = 1;
    }
  Tensor gv = repeated.empty() ? g : sum(g, repeated, /*keepdim=*/true);
  // Laid out like the base, so the view's geometry finds its region; the write is an in-place op on a view,
  // which autograd records when the gradient itself is being differentiated (create_graph).
  Tensor result = strided(geo.base_sizes, geo.base_strides, g.options(), true);
  Tensor region = autograd::grad_mode_enabled() ? as_strided(result, sizes, geo.strides, geo.offset)
                                                : make_view(result, sizes, geo.strides, geo.offset);
  copy_(region, gv);
  return result;
}
}  // namespace kiln::ops
