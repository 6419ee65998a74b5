// Shape and view ops: new geometry over the same storage, each recording how its gradient flows back.
#include "kiln/tensor/ops/view.h"

#include <algorithm>
#include <numeric>

#include "autograd/views.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"

namespace kiln {
namespace {
using autograd::TensorList;

// Records a view's backward when needed, tracks the view's base (for in-place writes) and returns the view.
template <typename F>
Tensor record_view(const char* name, const Tensor& base, Tensor view, F grad_fn) {
  if (autograd::needs_grad({&base}))
    autograd::record(name, view, {base}, [grad_fn](const TensorList& g, const std::vector<bool>&) {
      return TensorList{grad_fn(g[0])};
    });
  autograd::track_view(base, view);
  return view;
}

// Strides for viewing t as `shape` without a copy, or empty when the layouts are incompatible.
bool compute_view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& shape, Shape& out) {
  int64_t numel = shape_numel(old_sizes);
  out.assign(shape.size(), 0);
  if (numel == 0 || old_sizes.empty()) {  // nothing to alias, or a 0-dim tensor (one element)
    out = contiguous_strides(shape);
    return true;
  }
  // Walk chunks of old dims that are contiguous among themselves and map new dims onto them (as torch).
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    if (d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}
}  // namespace

Shape infer_size(const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      KILN_CHECK_SHAPE(infer < 0, "shape ", shape_to_string(shape), " has more than one -1");
      infer = static_cast<int64_t>(i);
    } else {
      KILN_CHECK_SHAPE(shape[i] >= 0, "invalid dimension ", shape[i], " in shape ", shape_to_string(shape));
      KILN_CHECK_SHAPE(!__builtin_mul_overflow(known, shape[i], &known), "shape ", shape_to_string(shape),
                       " is invalid for a tensor of ", numel, " elements (its element count overflows)");
    }
  }
  if (infer >= 0) {
    KILN_CHECK_SHAPE(known != 0 && numel % known == 0, "shape ", shape_to_string(shape),
                     " is invalid for a tensor of ", numel, " elements");
    out[infer] = numel / known;
  } else {
    KILN_CHECK_SHAPE(known == numel, "shape ", shape_to_string(shape), " is invalid for a tensor of ", numel,
                     " elements");
  }
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError("shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                       " cannot be broadcast together (dimension " + std::to_string(i) + ": " + std::to_string(da) +
                       " vs " + std::to_string(db) + "); sizes must match or be 1");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor view(const Tensor& t, const Shape& shape) {
  Shape sizes = infer_size(shape, t.numel());
  Shape strides;
  KILN_CHECK_SHAPE(compute_view_strides(t.sizes(), t.strides(), sizes, strides), "view: shape ",
                   shape_to_string(shape), " is incompatible with the input's size ", t.shape_str(), " and stride ",
                   shape_to_string(t.strides()), "; use reshape() (which copies when needed)");
  Shape old = t.sizes();
  return record_view("ViewBackward0", t, make_view(t, sizes, strides, t.storage_offset()),
                     [old](const Tensor& g) { return reshape(g, old); });
}

Tensor reshape(const Tensor& t, const Shape& shape) {
  Shape sizes = infer_size(shape, t.numel());
  Shape strides;
  if (compute_view_strides(t.sizes(), t.strides(), sizes, strides)) return view(t, sizes);
  return view(contiguous(t), sizes);
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.dim() == 0) return reshape(t, {1});
  int64_t s = wrap_dim(start_dim, t.dim(), "flatten"), e = wrap_dim(end_dim, t.dim(), "flatten");
  KILN_CHECK_SHAPE(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape(t.sizes().begin(), t.sizes().begin() + s);
  int64_t m = 1;
  for (int64_t d = s; d <= e; ++d) m *= t.size(d);
  shape.push_back(m);
  shape.insert(shape.end(), t.sizes().begin() + e + 1, t.sizes().end());
  return reshape(t, shape);
}

Tensor permute(const Tensor& t, const Shape& dims) {
  int64_t n = t.dim();
  KILN_CHECK_SHAPE(static_cast<int64_t>(dims.size()) == n, "permute: got ", dims.size(), " dims for a tensor of ",
                   n, " dims (shape ", t.shape_str(), ")");
  Shape sizes(n), strides(n), inverse(n, -1);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, "permute");
    KILN_CHECK_SHAPE(inverse[d] < 0, "permute: dim ", d, " repeated in ", shape_to_string(dims));
    inverse[d] = i;
    sizes[i] = t.size(d);
    strides[i] = t.stride(d);
  }
  return record_view("PermuteBackward0", t, make_view(t, sizes, strides, t.storage_offset()),
                     [inverse](const Tensor& g) { return permute(g, inverse); });
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  int64_t n = t.dim();
  if (n == 0) return t;
  d0 = wrap_dim(d0, n, "transpose");
  d1 = wrap_dim(d1, n, "transpose");
  Shape dims(n);
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[d0], dims[d1]);
  return permute(t, dims);
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  KILN_CHECK_SHAPE(t.dim() > 0, "slice: cannot slice a 0-dim tensor");
  dim = wrap_dim(dim, t.dim(), "slice");
  KILN_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t size = t.size(dim);
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape sizes = t.sizes(), strides = t.strides();
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  Shape in_shape = t.sizes();
  return record_view("SliceBackward0", t, make_view(t, sizes, strides, t.storage_offset() + start * t.stride(dim)),
                     [in_shape, dim, start, end, step](const Tensor& g) {
                       Tensor z = zeros(in_shape, g.options());
                       Tensor part = slice(z, dim, start, end, step);
                       copy_(part, g);
                       return z;
                     });
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  dim = wrap_dim(dim, t.dim(), "narrow");
  int64_t size = t.size(dim);
  if (start < 0) start += size;
  KILN_CHECK_INDEX(start >= 0 && length >= 0 && start + length <= size, "narrow: start ", start, " + length ", length,
                   " exceeds dimension ", dim, " of size ", size);
  return slice(t, dim, start, start + length, 1);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  KILN_CHECK_INDEX(t.dim() > 0, "select: cannot index a 0-dim tensor");
  dim = wrap_dim(dim, t.dim(), "select");
  int64_t size = t.size(dim);
  KILN_CHECK_INDEX(index >= -size && index < size, "index ", index, " is out of bounds for dimension ", dim,
                   " with size ", size);
  if (index < 0) index += size;
  Shape sizes = t.sizes(), strides = t.strides();
  int64_t offset = t.storage_offset() + index * strides[dim];
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  Shape in_shape = t.sizes();
  return record_view("SelectBackward0", t, make_view(t, sizes, strides, offset), [in_shape, dim, index](const Tensor& g) {
    Tensor z = zeros(in_shape, g.options());
    Tensor part = select(z, dim, index);
    copy_(part, g);
    return z;
  });
}

Tensor expand(const Tensor& t, const Shape& shape) {
  int64_t n = static_cast<int64_t>(shape.size()), tn = t.dim();
  KILN_CHECK_SHAPE(n >= tn, "expand: the target shape ", shape_to_string(shape), " has fewer dims than the input ",
                   t.shape_str());
  Shape sizes(n), strides(n);
  for (int64_t i = n - 1; i >= 0; --i) {
    int64_t ti = i - (n - tn);
    int64_t want = shape[i];
    if (ti < 0) {
      KILN_CHECK_SHAPE(want >= 0, "expand: -1 is not allowed for a new leading dim in ", shape_to_string(shape));
      sizes[i] = want;
      strides[i] = 0;
      continue;
    }
    int64_t have = t.size(ti);
    if (want == -1) want = have;
    KILN_CHECK_SHAPE(have == want || have == 1, "expand: the input's size ", have, " at dim ", ti,
                     " must match the target ", want, " or be 1 (input ", t.shape_str(), ", target ",
                     shape_to_string(shape), ")");
    sizes[i] = want;
    strides[i] = have == want ? t.stride(ti) : 0;
  }
  shape_numel(sizes);  // refuses a target whose element count overflows
  Shape in_shape = t.sizes();
  return record_view("ExpandBackward0", t, make_view(t, sizes, strides, t.storage_offset()),
                     [in_shape](const Tensor& g) { return sum_to(g, in_shape); });
}

Tensor squeeze(const Tensor& t) {
  Shape sizes;
  for (auto s : t.sizes())
    if (s != 1) sizes.push_back(s);
  return reshape(t, sizes);
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  if (t.dim() == 0) return t;
  dim = wrap_dim(dim, t.dim(), "squeeze");
  if (t.size(dim) != 1) return t;
  Shape sizes = t.sizes();
  sizes.erase(sizes.begin() + dim);
  return reshape(t, sizes);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape sizes = t.sizes(), strides = t.strides();
  int64_t st = dim < t.dim() ? t.stride(dim) * t.size(dim) : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return record_view("UnsqueezeBackward0", t, make_view(t, sizes, strides, t.storage_offset()),
                     [dim](const Tensor& g) { return squeeze(g, dim); });
}
}  // namespace kiln
