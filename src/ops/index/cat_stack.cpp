// Front end of cat and stack: torch's shape rules and dtype promotion, one strided copy per input into the
// output, and the gradient that slices the output's gradient back into pieces.
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/view.h"
#include "ops/elementwise/iter.h"

namespace kiln {
namespace {
// torch still skips 1-D empty tensors in cat whatever the other shapes are (legacy behaviour kept for
// code that starts from torch.empty(0) and appends).
bool skipped_in_cat_shape(const Shape& s) { return s.size() == 1 && s[0] == 0; }
bool skipped_in_cat(const Tensor& t) { return skipped_in_cat_shape(t.sizes()); }
}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  KILN_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  std::vector<const Tensor*> ptrs;
  for (size_t i = 0; i < tensors.size(); ++i) {
    KILN_CHECK(tensors[i].defined(), "cat: tensor ", i, " is undefined");
    ptrs.push_back(&tensors[i]);
  }
  ops::check_same_device("cat", ptrs);
  DType dtype = tensors[0].dtype();
  for (const Tensor& t : tensors) dtype = promote_types(dtype, t.dtype());
  const Device device = tensors[0].device();

  int64_t ref = -1;
  for (size_t i = 0; i < tensors.size() && ref < 0; ++i)
    if (!skipped_in_cat(tensors[i])) ref = static_cast<int64_t>(i);
  if (ref < 0) {  // every input is an empty 1-D tensor
    Tensor out = make_tensor({0}, dtype, device);
    if (autograd::needs_grad(tensors))
      autograd::record("CatBackward0", out, tensors, [n = tensors.size()](const autograd::TensorList& g,
                                                                        const std::vector<bool>& need) {
        autograd::TensorList r(n);
        for (size_t i = 0; i < n; ++i)
          if (need[i]) r[i] = zeros({0}, g[0].options());
        return r;
      });
    return out;
  }
  const Tensor& first = tensors[ref];
  KILN_CHECK_SHAPE(first.dim() > 0, "cat: zero-dimensional tensor (at position ", ref,
                   ") cannot be concatenated; unsqueeze it or use stack");
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.sizes();
  out_shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped_in_cat(t)) continue;
    KILN_CHECK_SHAPE(t.dim() == first.dim(), "cat: tensor ", ref, " has shape ", first.shape_str(), " but tensor ", i,
                     " has shape ", t.shape_str(), " (a different number of dims)");
    for (int64_t d = 0; d < t.dim(); ++d)
      KILN_CHECK_SHAPE(d == dim || t.size(d) == first.size(d), "cat: sizes must match except in dimension ", dim,
                       ": tensor ", ref, " has shape ", first.shape_str(), " but tensor ", i, " has shape ",
                       t.shape_str());
    out_shape[dim] += t.size(dim);
  }
  Tensor out = make_tensor(out_shape, dtype, device);
  std::vector<int64_t> offsets(tensors.size(), 0);
  {
    NoGradGuard no_grad;
    int64_t offset = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor& t = tensors[i];
      offsets[i] = offset;
      if (skipped_in_cat(t)) continue;
      if (t.numel() > 0) {
        Tensor part = out.narrow(dim, offset, t.size(dim));
        part.copy_(t);  // converts to the promoted dtype on the way
      }
      offset += t.size(dim);
    }
  }
  if (autograd::needs_grad(tensors)) {
    std::vector<Shape> shapes;
    std::vector<DType> dtypes;
    for (const Tensor& t : tensors) {
      shapes.push_back(t.sizes());
      dtypes.push_back(t.dtype());
    }
    autograd::record("CatBackward0", out, tensors,
                     [dim, offsets, shapes, dtypes](const autograd::TensorList& g, const std::vector<bool>& need) {
                       autograd::TensorList r(shapes.size());
                       for (size_t i = 0; i < shapes.size(); ++i) {
                         if (!need[i]) continue;
                         if (skipped_in_cat_shape(shapes[i])) {
                           r[i] = zeros(shapes[i], g[0].options().dtype(dtypes[i]));
                           continue;
                         }
                         r[i] = narrow(g[0], dim, offsets[i], shapes[i][dim]).to(dtypes[i]);
                       }
                       return r;
                     });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  KILN_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    KILN_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    KILN_CHECK_SHAPE(tensors[i].sizes() == tensors[0].sizes(), "stack: expects each tensor to be equal size, but "
                     "tensor 0 has shape ", tensors[0].shape_str(), " and tensor ", i, " has shape ",
                     tensors[i].shape_str());
  }
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  // Unsqueezed inputs have at least one dim of size 1, so cat never skips them.
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (const Tensor& t : tensors) parts.push_back(unsqueeze(t, dim));
  return cat(parts, dim);
}
}  // namespace kiln
