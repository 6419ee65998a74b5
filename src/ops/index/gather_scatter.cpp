// Front end of gather, scatter, scatter_add (out of place and in place), index_select and one_hot: torch's shape
// and dtype rules, index validation before any write, and the gradients.
#include <algorithm>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/view.h"
#include "ops/elementwise/iter.h"
#include "ops/index/index_kernels.h"
#include "ops/op_stream.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(index_check_stub);
KILN_DEFINE_DISPATCH(index_apply_stub);
}  // namespace ops

namespace {
using autograd::TensorList;

// Index ops treat a 0-dim tensor as 1-D of size 1, as torch does.
int64_t nonempty_dim(const Tensor& t) { return std::max<int64_t>(t.dim(), 1); }
int64_t size_at(const Tensor& t, int64_t d) { return t.dim() == 0 ? 1 : t.size(d); }
Tensor as_1d(const Tensor& t) { return t.dim() == 0 ? make_view(t, {1}, {1}, t.storage_offset()) : t; }

void check_index_dtype(const char* op, const Tensor& index) {
  KILN_CHECK_DTYPE(index.dtype() == kInt64 || index.dtype() == kInt32, op, ": index must be int64 (or int32), got ",
                   index.dtype());
}

// The kernel arguments for self/index/other (each at least 1-D, same number of dims) along dim. An undefined
// `other` stands for none (scatter of a value): it then aliases self with zero strides and is never touched.
ops::IndexArgs make_args(const Tensor& self, const Tensor& index, const Tensor& other, int64_t dim) {
  const int64_t nd = index.dim();
  KILN_CHECK_SHAPE(nd <= ops::kMaxIndexDims, "index ops support up to ", ops::kMaxIndexDims, " dims, got ",
                   index.shape_str());
  ops::IndexArgs a;
  ops::IndexGeom& g = a.geom;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t other_stride = other.defined() ? other.stride(d) : 0;
    if (d == dim) {
      g.inner = index.size(d);
      g.idx_inner_stride = index.stride(d);
      g.other_inner_stride = other_stride;
      g.self_dim_stride = self.stride(d);
      g.self_dim_size = self.size(d);
      continue;
    }
    g.sizes[g.ndim] = index.size(d);
    g.idx_strides[g.ndim] = index.stride(d);
    g.self_strides[g.ndim] = self.stride(d);
    g.other_strides[g.ndim] = other_stride;
    g.outer *= index.size(d);
    ++g.ndim;
  }
  a.self = self.data_ptr();
  a.index = index.data_ptr();
  a.other = other.defined() ? other.data_ptr() : self.data_ptr();
  a.dtype = self.dtype();
  a.index_dtype = index.dtype();
  a.device = self.device();
  a.stream = ops::op_stream(a.device);
  return a;
}

// Validates the indices (at once on the CPU; by a queued device-side check on CUDA, raised at the next host
// wait) and points `a` at the check's verdict. The returned verdict must outlive the queuing of the apply.
Tensor check_indices(ops::IndexArgs& a, const ops::CheckFailure& failure) {
  Tensor verdict = ops::index_check_stub(a.device.type(), a, failure);
  a.verdict = verdict.defined() ? verdict.data_ptr() : nullptr;
  return verdict;
}
ops::CheckFailure index_failure(const char* op, int64_t dim, const ops::IndexArgs& a) {
  ops::CheckFailure f;
  f.kind = ops::CheckKind::IndexOutOfBounds;
  f.op = op;
  f.arg0 = dim;
  f.arg1 = a.geom.self_dim_size;
  return f;
}

// Shape, dtype and device rules of gather; returns the wrapped dim.
int64_t check_gather(const char* op, const Tensor& self, int64_t dim, const Tensor& index) {
  KILN_CHECK(self.defined() && index.defined(), op, ": undefined tensor");
  check_index_dtype(op, index);
  ops::check_same_device(op, {&self, &index});
  KILN_CHECK_SHAPE(nonempty_dim(index) == nonempty_dim(self), op, ": index ", index.shape_str(),
                   " must have as many dims as the input ", self.shape_str());
  dim = wrap_dim(dim, nonempty_dim(self), op);
  for (int64_t d = 0; d < nonempty_dim(self); ++d)
    KILN_CHECK_SHAPE(d == dim || size_at(index, d) <= size_at(self, d), op, ": index ", index.shape_str(),
                     " is larger than the input ", self.shape_str(), " at dimension ", d, " (only dimension ", dim,
                     " may be larger)");
  return dim;
}

// Rules of scatter/scatter_add; src undefined for the Scalar form. Returns the wrapped dim.
int64_t check_scatter(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = check_gather(op, self, dim, index);
  if (!src.defined()) return dim;
  ops::check_same_device(op, {&self, &src});
  KILN_CHECK_DTYPE(src.dtype() == self.dtype(), op, ": src has dtype ", src.dtype(), " but self has ", self.dtype(),
                   "; cast src with .to(", self.dtype(), ")");
  KILN_CHECK_SHAPE(nonempty_dim(src) == nonempty_dim(index), op, ": index ", index.shape_str(),
                   " must have as many dims as src ", src.shape_str());
  for (int64_t d = 0; d < nonempty_dim(src); ++d)
    KILN_CHECK_SHAPE(size_at(index, d) <= size_at(src, d), op, ": index ", index.shape_str(),
                     " is larger than src ", src.shape_str(), " at dimension ", d);
  return dim;
}

Tensor gather_impl(const char* op, const Tensor& self, int64_t dim, const Tensor& index) {
  Tensor out = make_tensor(index.sizes(), self.dtype(), self.device());
  if (out.numel() == 0) return out;
  ops::IndexArgs a = make_args(as_1d(self), as_1d(index), as_1d(out), dim);
  Tensor verdict = check_indices(a, index_failure(op, dim, a));
  ops::index_apply_stub(a.device.type(), a, ops::IndexMode::Gather, Scalar(0));
  return out;
}

// Writes into self; every index is validated first, so a bad one leaves self untouched.
void scatter_into(const char* op, const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                  const Scalar& value, ops::IndexMode mode) {
  if (index.numel() == 0) return;
  ops::IndexArgs a = make_args(as_1d(self), as_1d(index), src.defined() ? as_1d(src) : Tensor(), dim);
  Tensor verdict = check_indices(a, index_failure(op, dim, a));
  ops::index_apply_stub(a.device.type(), a, mode, value);
}

void check_writable(const char* op, const Tensor& self) {
  for (int64_t d = 0; d < self.dim(); ++d)
    KILN_CHECK(self.size(d) <= 1 || self.stride(d) != 0, op, ": self ", self.shape_str(),
               " has several elements sharing one memory location (an expanded tensor); clone() it first");
}

// Zero-pads a gradient of the index's shape up to src's shape (src may be larger than the index).
Tensor pad_to(Tensor t, const Shape& shape) {
  if (t.dim() == 0) return reshape(t, shape);
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.size(d) < shape[d]) {
      Shape zs = t.sizes();
      zs[d] = shape[d] - t.size(d);
      t = cat({t, zeros(zs, t.options())}, d);
    }
  return t;
}

// Backward of scatter/scatter_add: self keeps the gradient where it was not overwritten (scatter) or all of it
// (scatter_add); src gets the gradient gathered from where it was written.
autograd::BackwardFn scatter_backward(int64_t dim, const Tensor& index, const Shape& src_shape, bool add) {
  return [dim, index, src_shape, add](const TensorList& g, const std::vector<bool>& need) {
    TensorList r(2);
    if (need[0]) r[0] = add ? g[0] : scatter(g[0], dim, index, Scalar(0));
    if (need.size() > 1 && need[1]) r[1] = pad_to(gather(g[0], dim, index), src_shape);
    return r;
  };
}

// index viewed with stride 0 on every dim but `dim`, so it has `shape` (at least 1-D) without a copy.
Tensor broadcast_index(const Tensor& index, Shape shape, int64_t dim) {
  if (shape.empty()) shape = {1};
  Shape strides(shape.size(), 0);
  strides[dim] = index.dim() ? index.stride(0) : 0;
  return make_view(index, shape, strides, index.storage_offset());
}
}  // namespace

Tensor gather(const Tensor& a, int64_t dim, const Tensor& index) {
  dim = check_gather("gather", a, dim, index);
  Tensor out = gather_impl("gather", a, dim, index);
  if (autograd::needs_grad({&a})) {
    Shape shape = a.sizes();
    autograd::record("GatherBackward0", out, {a}, [shape, dim, index](const TensorList& g, const std::vector<bool>&) {
      return TensorList{scatter_add(zeros(shape, g[0].options()), dim, index, g[0])};
    });
  }
  return out;
}

Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index) {
  KILN_CHECK(a.defined() && index.defined(), "index_select: undefined tensor");
  check_index_dtype("index_select", index);
  ops::check_same_device("index_select", {&a, &index});
  KILN_CHECK_SHAPE(index.dim() <= 1, "index_select: index must be 1-D, got ", index.shape_str());
  dim = wrap_dim(dim, nonempty_dim(a), "index_select");
  Shape out_shape = a.sizes();
  if (a.dim() == 0)
    KILN_CHECK_SHAPE(index.numel() == 1, "index_select: a 0-dim input takes exactly one index, got ",
                     index.numel());
  else
    out_shape[dim] = index.numel();
  // index_select is a gather whose index is broadcast over the other dims (a stride-0 view, no copy).
  Tensor out = gather_impl("index_select", as_1d(a), dim, broadcast_index(index, out_shape, dim));
  out = make_view(out, out_shape, contiguous_strides(out_shape), 0);
  if (autograd::needs_grad({&a})) {
    Shape shape = a.sizes();
    autograd::record("IndexSelectBackward0", out, {a},
                     [shape, dim, index](const TensorList& g, const std::vector<bool>&) {
                       Tensor idx = broadcast_index(index, g[0].sizes(), dim);
                       return TensorList{scatter_add(zeros(shape, g[0].options()), dim, idx, g[0])};
                     });
  }
  return out;
}

Tensor scatter(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = check_scatter("scatter", a, dim, index, src);
  Tensor out = clone(a.detach());
  scatter_into("scatter", out, dim, index, src, Scalar(0), ops::IndexMode::Scatter);
  if (autograd::needs_grad({&a, &src}))
    autograd::record("ScatterBackward0", out, {a, src}, scatter_backward(dim, index, src.sizes(), false));
  return out;
}

Tensor scatter(const Tensor& a, int64_t dim, const Tensor& index, const Scalar& value) {
  dim = check_scatter("scatter", a, dim, index, Tensor());
  Tensor out = clone(a.detach());
  scatter_into("scatter", out, dim, index, Tensor(), value, ops::IndexMode::ScatterFill);
  if (autograd::needs_grad({&a}))
    autograd::record("ScatterBackward0", out, {a}, scatter_backward(dim, index, {}, false));
  return out;
}

Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = check_scatter("scatter_add", a, dim, index, src);
  KILN_CHECK_DTYPE(a.dtype() != kBool, "scatter_add: bool tensors are not supported; cast to uint8 first");
  Tensor out = clone(a.detach());
  scatter_into("scatter_add", out, dim, index, src, Scalar(0), ops::IndexMode::ScatterAdd);
  if (autograd::needs_grad({&a, &src}))
    autograd::record("ScatterAddBackward0", out, {a, src}, scatter_backward(dim, index, src.sizes(), true));
  return out;
}

const Tensor& scatter_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = check_scatter("scatter_", self, dim, index, src);
  check_writable("scatter_", self);
  bool track = autograd::needs_grad({&self, &src});
  autograd::check_inplace(self, "scatter_", track);
  scatter_into("scatter_", self, dim, index, src, Scalar(0), ops::IndexMode::Scatter);
  if (track) autograd::record("ScatterBackward0", self, {self, src}, scatter_backward(dim, index, src.sizes(), false));
  return self;
}

const Tensor& scatter_add_(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = check_scatter("scatter_add_", self, dim, index, src);
  KILN_CHECK_DTYPE(self.dtype() != kBool, "scatter_add_: bool tensors are not supported; cast to uint8 first");
  check_writable("scatter_add_", self);
  bool track = autograd::needs_grad({&self, &src});
  autograd::check_inplace(self, "scatter_add_", track);
  scatter_into("scatter_add_", self, dim, index, src, Scalar(0), ops::IndexMode::ScatterAdd);
  if (track)
    autograd::record("ScatterAddBackward0", self, {self, src}, scatter_backward(dim, index, src.sizes(), true));
  return self;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  KILN_CHECK(indices.defined(), "one_hot: undefined tensor");
  KILN_CHECK_DTYPE(indices.dtype() == kInt64 || indices.dtype() == kInt32,
                   "one_hot: class indices must be int64 (or int32), got ", indices.dtype());
  KILN_CHECK(num_classes >= -1, "one_hot: num_classes must be -1 (infer) or >= 0, got ", num_classes);
  if (num_classes == -1) {
    KILN_CHECK(indices.numel() > 0, "one_hot: cannot infer the number of classes from an empty tensor; pass "
               "num_classes");
    // Inferring the class count needs the maximum on the host (a synchronisation, as torch's .max().item()).
    std::vector<int64_t> v = indices.to_vector<int64_t>();
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    KILN_CHECK_INDEX(*lo >= 0, "one_hot: class index ", *lo, " is negative; class indices must be in [0, num_classes)");
    num_classes = *hi + 1;
  }
  Shape shape = indices.sizes();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, TensorOptions().dtype(kInt64).device(indices.device()));
  if (indices.numel() == 0) return out;
  const int64_t dim = out.dim() - 1;
  Shape idx_shape = indices.sizes(), idx_strides = indices.strides();
  idx_shape.push_back(1);
  idx_strides.push_back(1);
  Tensor idx = make_view(indices, idx_shape, idx_strides, indices.storage_offset());
  ops::IndexArgs a = make_args(out, idx, Tensor(), dim);
  ops::CheckFailure failure;
  failure.kind = ops::CheckKind::ClassIndex;
  failure.op = "one_hot";
  failure.arg0 = num_classes;
  Tensor verdict = check_indices(a, failure);
  ops::index_apply_stub(a.device.type(), a, ops::IndexMode::ScatterFill, Scalar(1));
  return out;
}
}  // namespace kiln
