// Joining, splitting and indexing: cat, stack, split, chunk, index_select, gather, scatter, one_hot, sorting.
#pragma once
#include <tuple>
#include <vector>

#include "kiln/tensor/tensor.h"

namespace kiln {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Pieces of split_size along dim (the last may be smaller); views of the input.
std::vector<Tensor> split(const Tensor& a, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& a, const Shape& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& a, int64_t chunks, int64_t dim = 0);
/// index must be 1-D int32/int64; out-of-range indices throw IndexError.
Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index);
/// Out of place: a copy of a with src written at index along dim.
Tensor scatter(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& a, int64_t dim, const Tensor& index, const Scalar& value);
Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src);
const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
const Tensor& scatter_add_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
/// The int64 [n, dim] coordinates of the nonzero (true) elements in row-major order. The count decides the
/// shape, so on CUDA this waits for the device (as torch.nonzero).
Tensor nonzero(const Tensor& a);
/// The elements of a where mask (bool, broadcast with a) is true, as a 1-D tensor; differentiable in a.
Tensor masked_select(const Tensor& a, const Tensor& mask);
/// Reverses the order along dims (a copy, as torch.flip).
Tensor flip(const Tensor& a, const Shape& dims);
/// Tiles a repeats[i] times along dim i (a copy, as torch's x.repeat); repeats may add leading dims.
Tensor repeat(const Tensor& a, const Shape& repeats);
/// Class indices (int64) -> int64 one-hot with num_classes columns (inferred as max+1 when -1).
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);
/// Stable sort indices along dim.
Tensor argsort(const Tensor& a, int64_t dim = -1, bool descending = false);
std::tuple<Tensor, Tensor> sort(const Tensor& a, int64_t dim = -1, bool descending = false);
/// k largest (or smallest) values and their int64 indices along dim, sorted.
std::tuple<Tensor, Tensor> topk(const Tensor& a, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);
}  // namespace kiln
