// Front end of sort, argsort and topk: the sorted dim is moved last into a fresh buffer, each row is sorted by the
// sort kernel, and values' gradients are scattered back to where the values came from.
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/view.h"
#include "ops/index/index_kernels.h"
#include "ops/op_stream.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(sort_stub);
}

namespace {
// values, indices of a sorted along dim (already wrapped), without autograd.
std::tuple<Tensor, Tensor> sort_impl(const Tensor& a, int64_t dim, bool descending) {
  NoGradGuard no_grad;
  if (a.dim() == 0) return {clone(a), zeros({}, TensorOptions().dtype(kInt64).device(a.device()))};
  Tensor moved = a.transpose(dim, -1);
  Tensor keys = make_tensor(moved.sizes(), a.dtype(), a.device());  // a fresh copy: the kernel sorts in place
  keys.copy_(moved);
  Tensor idx = make_tensor(moved.sizes(), kInt64, a.device());
  const int64_t n = moved.size(moved.dim() - 1);
  if (keys.numel() > 0)
    ops::sort_stub(a.device().type(), keys.view({keys.numel() / n, n}), idx.view({keys.numel() / n, n}), descending,
                   ops::op_stream(a.device()));
  return {keys.transpose(dim, -1).contiguous(), idx.transpose(dim, -1).contiguous()};
}

// Gradient of values that were picked from a along dim at `indices`: put each one back where it came from.
void record_pick_backward(const char* name, const Tensor& values, const Tensor& a, int64_t dim,
                          const Tensor& indices) {
  if (!autograd::needs_grad({&a})) return;
  Shape shape = a.sizes();
  autograd::record(name, values, {a}, [shape, dim, indices](const autograd::TensorList& g, const std::vector<bool>&) {
    if (shape.empty()) return autograd::TensorList{g[0]};
    return autograd::TensorList{scatter(zeros(shape, g[0].options()), dim, indices, g[0])};
  });
}
}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& a, int64_t dim, bool descending) {
  KILN_CHECK(a.defined(), "sort: undefined tensor");
  dim = wrap_dim(dim, std::max<int64_t>(a.dim(), 1), "sort");
  auto [values, indices] = sort_impl(a, dim, descending);
  record_pick_backward("SortBackward0", values, a, dim, indices);
  return {values, indices};
}

Tensor argsort(const Tensor& a, int64_t dim, bool descending) {
  KILN_CHECK(a.defined(), "argsort: undefined tensor");
  dim = wrap_dim(dim, std::max<int64_t>(a.dim(), 1), "argsort");
  return std::get<1>(sort_impl(a, dim, descending));
}

std::tuple<Tensor, Tensor> topk(const Tensor& a, int64_t k, int64_t dim, bool largest, bool sorted) {
  KILN_CHECK(a.defined(), "topk: undefined tensor");
  dim = wrap_dim(dim, std::max<int64_t>(a.dim(), 1), "topk");
  const int64_t size = a.dim() == 0 ? 1 : a.size(dim);
  KILN_CHECK_INDEX(k >= 0 && k <= size, "topk: k (", k, ") is out of range for dimension ", dim, " of size ", size,
                   " (shape ", a.shape_str(), ")");
  // A full sort is simple and correct; `sorted` is honoured trivially since the result is always sorted
  // (NaN counts as the largest value, as in torch).
  (void)sorted;
  auto [values, indices] = sort_impl(a, dim, largest);
  if (a.dim() > 0) {
    NoGradGuard no_grad;
    values = values.narrow(dim, 0, k).contiguous();
    indices = indices.narrow(dim, 0, k).contiguous();
  } else if (k == 0) {
    throw ShapeError("topk: k = 0 on a 0-dim tensor gives no valid result shape; reshape the input to 1-D first");
  }
  record_pick_backward("TopkBackward0", values, a, dim, indices);
  return {values, indices};
}
}  // namespace kiln
