// Reduce family plumbing: the dispatch stubs, the rows x K geometry, dim-list resolution and gradient reshaping.
#include "ops/reduce/reduce_front.h"

#include <algorithm>

#include "kiln/tensor/ops/view.h"
#include "ops/op_stream.h"

namespace kiln::ops {
KILN_DEFINE_DISPATCH(reduce_stub);
KILN_DEFINE_DISPATCH(softmax_stub);
KILN_DEFINE_DISPATCH(softmax_backward_stub);

namespace {
struct DimRun {
  int64_t size, stride;
};
// Merges neighbours that step through memory as one dim (outer stride == inner size * inner stride).
std::vector<DimRun> coalesce(const std::vector<DimRun>& dims) {
  std::vector<DimRun> out;
  for (const DimRun& d : dims) {
    if (!out.empty() && out.back().stride == d.size * d.stride) {
      out.back().size *= d.size;
      out.back().stride = d.stride;
    } else {
      out.push_back(d);
    }
  }
  return out;
}
}  // namespace

ReduceGeom make_reduce_geom(const Tensor& a, const std::vector<bool>& reduced, bool reorder) {
  ReduceGeom g;
  std::vector<DimRun> kept, red;
  g.rows = 1;
  g.K = 1;
  for (int64_t d = 0; d < a.dim(); ++d) {
    int64_t size = a.size(d);
    (reduced[d] ? g.K : g.rows) *= size;
    if (size != 1) (reduced[d] ? red : kept).push_back({size, a.stride(d)});
  }
  // Element order only matters to indexed ops; the others walk memory in its own order.
  if (reorder)
    std::stable_sort(red.begin(), red.end(), [](const DimRun& x, const DimRun& y) { return x.stride > y.stride; });
  kept = coalesce(kept);
  red = coalesce(red);
  KILN_CHECK(kept.size() <= static_cast<size_t>(kReduceMaxDims) && red.size() <= static_cast<size_t>(kReduceMaxDims),
             "reduction: the input ", a.shape_str(), " has too many non-mergeable dims (at most ", kReduceMaxDims,
             " kept and ", kReduceMaxDims, " reduced); call .contiguous() first");
  g.nkept = static_cast<int>(kept.size());
  g.nred = static_cast<int>(red.size());
  for (int i = 0; i < g.nkept; ++i) g.kept_sizes[i] = kept[i].size, g.kept_strides[i] = kept[i].stride;
  for (int i = 0; i < g.nred; ++i) g.red_sizes[i] = red[i].size, g.red_strides[i] = red[i].stride;
  return g;
}

ReduceDims resolve_dims(const Tensor& a, const Shape& dims, const char* op) {
  int64_t nd = a.dim();
  ReduceDims rd;
  rd.mask.assign(static_cast<size_t>(nd), dims.empty());
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(nd, 1)), false);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    KILN_CHECK(!seen[w], op, ": dim ", w, " appears multiple times in the list of dims ", shape_to_string(dims));
    seen[w] = true;
    if (nd > 0) rd.mask[w] = true;
  }
  for (int64_t d = 0; d < nd; ++d) {
    int64_t s = a.size(d);
    if (rd.mask[d]) {
      rd.K *= s;
      rd.keep_shape.push_back(1);
      rd.dims.push_back(d);
    } else {
      rd.keep_shape.push_back(s);
      rd.out_shape.push_back(s);
    }
  }
  return rd;
}

ReduceDims resolve_dim(const Tensor& a, int64_t dim, const char* op) { return resolve_dims(a, Shape{dim}, op); }

void check_nonempty_reduction(const Tensor& a, const ReduceDims& rd, const char* op) {
  if (rd.K != 0) return;
  if (rd.dims.size() == static_cast<size_t>(a.dim()))
    throw IndexError(detail::str(op, "(): cannot reduce an empty tensor (shape ", a.shape_str(),
                                 ") because it has no identity; pass a dim whose size is non-zero"));
  throw IndexError(detail::str(op, "(): expected reduction dim(s) ", shape_to_string(rd.dims),
                               " to have non-zero size (input shape ", a.shape_str(), ")"));
}

Tensor run_reduce(const Tensor& a, const ReduceDims& rd, bool keepdim, ReduceKind kind, DType out_dtype,
                  double param, Tensor* indices, bool want_values) {
  bool indexed = kind == ReduceKind::ArgMax || kind == ReduceKind::ArgMin;
  ReduceCall c;
  c.kind = kind;
  c.geom = make_reduce_geom(a, rd.mask, !indexed);
  c.in = a.numel() ? a.data_ptr() : nullptr;
  c.in_dtype = a.dtype();
  c.device = a.device();
  c.stream = ops::op_stream(c.device);
  c.out_dtype = out_dtype;
  c.param = param;
  const Shape& shape = rd.shape(keepdim);
  Tensor out;
  if (want_values) {
    out = make_tensor(shape, out_dtype, a.device());
    if (out.numel()) c.out = out.data_ptr();
  }
  if (indexed && indices) {
    *indices = make_tensor(shape, kInt64, a.device());
    if (indices->numel()) c.indices = indices->data_ptr<int64_t>();
  }
  if (c.geom.rows > 0) reduce_stub(a.device().type(), c);
  return out;
}

Tensor to_keepdim(const Tensor& t, const ReduceDims& rd, bool keepdim) {
  if (keepdim || t.sizes() == rd.keep_shape) return t;
  return reshape(t, rd.keep_shape);
}

Tensor expand_grad(const Tensor& g, const ReduceDims& rd, bool keepdim, const Shape& in_shape) {
  return expand(to_keepdim(g, rd, keepdim), in_shape);
}

void check_floating(const Tensor& a, const char* op) {
  KILN_CHECK_DTYPE(a.is_floating_point(), op, "(): expected a floating point input, got ", dtype_name(a.dtype()),
                   "; convert it first, e.g. x.to(kFloat32)");
}
}  // namespace kiln::ops
