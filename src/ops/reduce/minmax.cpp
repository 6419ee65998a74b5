// Front ends of max/min (all and along a dim), amax/amin and argmax/argmin, with their gradients.
#include "kiln/autograd/node.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/ops/view.h"
#include "ops/reduce/reduce_front.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::ReduceDims;
using ops::ReduceKind;

namespace {
// Gradient of a max/min over rd's dims that shares g evenly among the elements equal to the result
// (torch's amax rule), so ties do not double the gradient.
Tensor evenly_split_grad(const Tensor& g, const Tensor& a, const Tensor& out, const ReduceDims& rd, bool keepdim) {
  Tensor is_sel = eq(a, ops::to_keepdim(out, rd, keepdim));
  Tensor count = sum(is_sel, rd.dims, true);
  return where(is_sel, div(ops::to_keepdim(g, rd, keepdim), count), 0.0);
}

// Gradient of max/min along dim: all of g goes to the selected index.
Tensor index_grad(const Tensor& g, const Tensor& idx, const ReduceDims& rd, bool keepdim, const Tensor& a) {
  Shape pos_shape(static_cast<size_t>(a.dim()), 1);
  int64_t n = 1;
  if (!rd.dims.empty()) {
    n = a.size(rd.dims[0]);
    pos_shape[rd.dims[0]] = n;
  }
  Tensor pos = reshape(arange(0, n, 1, kInt64, a.device()), pos_shape);
  Tensor is_sel = eq(pos, ops::to_keepdim(idx, rd, keepdim));
  return where(is_sel, ops::to_keepdim(g, rd, keepdim), 0.0);
}

Tensor extreme_all(const Tensor& a, bool is_max) {
  const char* name = is_max ? "max" : "min";
  ReduceDims rd = ops::resolve_dims(a, {}, name);
  ops::check_nonempty_reduction(a, rd, name);
  Tensor out = ops::run_reduce(a, rd, false, is_max ? ReduceKind::Max : ReduceKind::Min, a.dtype());
  if (autograd::needs_grad({&a}))
    autograd::record(is_max ? "MaxBackward1" : "MinBackward1", out, {a},
                     [sa = SavedTensor(a), so = SavedTensor(out, true), rd](const TensorList& g, const std::vector<bool>&) {
                       return TensorList{evenly_split_grad(g[0], sa.get(), so.get(), rd, false)};
                     });
  return out;
}

std::tuple<Tensor, Tensor> extreme_dim(const Tensor& a, int64_t dim, bool keepdim, bool is_max) {
  const char* name = is_max ? "max" : "min";
  ReduceDims rd = ops::resolve_dim(a, dim, name);
  ops::check_nonempty_reduction(a, rd, name);
  Tensor idx;
  Tensor values = ops::run_reduce(a, rd, keepdim, is_max ? ReduceKind::ArgMax : ReduceKind::ArgMin, a.dtype(), 0, &idx);
  if (autograd::needs_grad({&a})) {
    autograd::record(is_max ? "MaxBackward0" : "MinBackward0", values, {a},
                     [sa = SavedTensor(a), si = SavedTensor(idx), rd, keepdim](const TensorList& g,
                                                                             const std::vector<bool>&) {
                       return TensorList{index_grad(g[0], si.get(), rd, keepdim, sa.get())};
                     });
  }
  return {values, idx};
}

Tensor extreme_dims(const Tensor& a, const Shape& dims, bool keepdim, bool is_max) {
  const char* name = is_max ? "amax" : "amin";
  ReduceDims rd = ops::resolve_dims(a, dims, name);
  ops::check_nonempty_reduction(a, rd, name);
  Tensor out = ops::run_reduce(a, rd, keepdim, is_max ? ReduceKind::Max : ReduceKind::Min, a.dtype());
  if (autograd::needs_grad({&a}))
    autograd::record(is_max ? "AmaxBackward0" : "AminBackward0", out, {a},
                     [sa = SavedTensor(a), so = SavedTensor(out, true), rd, keepdim](const TensorList& g,
                                                                                   const std::vector<bool>&) {
                       return TensorList{evenly_split_grad(g[0], sa.get(), so.get(), rd, keepdim)};
                     });
  return out;
}

Tensor arg_extreme(const Tensor& a, const ReduceDims& rd, bool keepdim, bool is_max, const char* name) {
  ops::check_nonempty_reduction(a, rd, name);
  Tensor idx;
  ops::run_reduce(a, rd, keepdim, is_max ? ReduceKind::ArgMax : ReduceKind::ArgMin, a.dtype(), 0, &idx, false);
  return idx;
}
}  // namespace

Tensor max(const Tensor& a) { return extreme_all(a, true); }
Tensor min(const Tensor& a) { return extreme_all(a, false); }
std::tuple<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) { return extreme_dim(a, dim, keepdim, true); }
std::tuple<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim) { return extreme_dim(a, dim, keepdim, false); }
Tensor amax(const Tensor& a, const Shape& dims, bool keepdim) { return extreme_dims(a, dims, keepdim, true); }
Tensor amin(const Tensor& a, const Shape& dims, bool keepdim) { return extreme_dims(a, dims, keepdim, false); }

// The all-elements versions index the flattened tensor: the reduced dims keep their logical order,
// so the kernel's k is the row-major flat index.
Tensor argmax(const Tensor& a) { return arg_extreme(a, ops::resolve_dims(a, {}, "argmax"), false, true, "argmax"); }
Tensor argmin(const Tensor& a) { return arg_extreme(a, ops::resolve_dims(a, {}, "argmin"), false, false, "argmin"); }
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim) {
  return arg_extreme(a, ops::resolve_dim(a, dim, "argmax"), keepdim, true, "argmax");
}
Tensor argmin(const Tensor& a, int64_t dim, bool keepdim) {
  return arg_extreme(a, ops::resolve_dim(a, dim, "argmin"), keepdim, false, "argmin");
}
}  // namespace kiln
