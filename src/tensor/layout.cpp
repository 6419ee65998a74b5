// Layout helpers: density and the stride order the *_like factories preserve.
#include "tensor/layout.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace kiln {
namespace {
// Dims from innermost (smallest stride) to outermost; ties keep the later dim inner, as a contiguous tensor.
std::vector<size_t> dims_inner_first(const Tensor& t) {
  std::vector<size_t> dims(t.sizes().size());
  std::iota(dims.rbegin(), dims.rend(), size_t{0});
  std::stable_sort(dims.begin(), dims.end(), [&](size_t a, size_t b) { return t.strides()[a] < t.strides()[b]; });
  return dims;
}
}  // namespace

bool is_non_overlapping_and_dense(const Tensor& t) {
  int64_t expected = 1;
  for (size_t d : dims_inner_first(t)) {
    if (t.sizes()[d] == 1) continue;
    if (t.strides()[d] != expected) return false;
    expected *= t.sizes()[d];
  }
  return true;
}

Shape dense_strides_like(const Tensor& t) {
  if (is_non_overlapping_and_dense(t)) return t.strides();
  Shape strides(t.sizes().size());
  int64_t acc = 1;
  for (size_t d : dims_inner_first(t)) {
    strides[d] = acc;
    acc *= std::max<int64_t>(t.sizes()[d], 1);
  }
  return strides;
}
}  // namespace kiln
