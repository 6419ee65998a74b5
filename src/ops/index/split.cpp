// Front end of split, split_with_sizes and chunk: views of the input, with one backward node for all pieces
// (their gradients are concatenated) instead of one zero-filled gradient per piece.
#include "autograd/views.h"
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"

namespace kiln {

std::vector<Tensor> split_with_sizes(const Tensor& a, const Shape& sizes, int64_t dim) {
  KILN_CHECK(a.defined(), "split_with_sizes: undefined tensor");
  KILN_CHECK_SHAPE(a.dim() > 0, "split_with_sizes: expected at least a 1-dimensional tensor, got a 0-dim tensor");
  dim = wrap_dim(dim, a.dim(), "split_with_sizes");
  int64_t total = 0;
  for (int64_t s : sizes) {
    KILN_CHECK_SHAPE(s >= 0, "split_with_sizes: split sizes must be non-negative, got ", shape_to_string(sizes));
    total += s;
  }
  KILN_CHECK_SHAPE(total == a.size(dim), "split_with_sizes: split sizes ", shape_to_string(sizes), " sum to ", total,
                   " but dimension ", dim, " of ", a.shape_str(), " has size ", a.size(dim));
  std::vector<Tensor> pieces;
  pieces.reserve(sizes.size());
  int64_t offset = 0;
  for (int64_t s : sizes) {
    Shape shape = a.sizes();
    shape[dim] = s;
    pieces.push_back(make_view(a, shape, a.strides(), a.storage_offset() + offset * a.stride(dim)));
    offset += s;
  }
  if (autograd::needs_grad({&a}) && !pieces.empty())
    autograd::record("SplitBackward0", pieces, {a}, [dim](const autograd::TensorList& g, const std::vector<bool>&) {
      return autograd::TensorList{cat(g, dim)};
    });
  // One node owns every piece's gradient, so in-place writes to the pieces are refused when tracked.
  for (const Tensor& p : pieces) autograd::track_view(a, p, /*multi_output=*/true);
  return pieces;
}

std::vector<Tensor> split(const Tensor& a, int64_t split_size, int64_t dim) {
  KILN_CHECK(a.defined(), "split: undefined tensor");
  KILN_CHECK_SHAPE(a.dim() > 0, "split: expected at least a 1-dimensional tensor, got a 0-dim tensor");
  dim = wrap_dim(dim, a.dim(), "split");
  const int64_t size = a.size(dim);
  KILN_CHECK(split_size > 0 || (split_size == 0 && size == 0), "split: split_size must be positive (0 only for an "
             "empty dimension), got ", split_size, " for dimension ", dim, " of size ", size);
  const int64_t n = split_size == 0 ? 1 : std::max<int64_t>((size + split_size - 1) / split_size, 1);
  Shape sizes(n, split_size);
  sizes.back() = size - split_size * (n - 1);
  return split_with_sizes(a, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  KILN_CHECK(a.defined(), "chunk: undefined tensor");
  KILN_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  KILN_CHECK_SHAPE(a.dim() > 0, "chunk: expected at least a 1-dimensional tensor, got a 0-dim tensor");
  dim = wrap_dim(dim, a.dim(), "chunk");
  const int64_t size = a.size(dim);
  const int64_t split_size = (size + chunks - 1) / chunks;
  // torch: an empty dimension gives `chunks` empty pieces; otherwise pieces of ceil(size / chunks), so there
  // may be fewer than `chunks` of them.
  if (size == 0) return split_with_sizes(a, Shape(chunks, 0), dim);
  return split(a, split_size, dim);
}
}  // namespace kiln
