// Front ends of sum, sum_to, mean, prod, any and all, with their gradients.
#include "kiln/tensor/ops/reduce.h"
#include "ops/autocast/autocast_inputs.h"

#include "kiln/autograd/node.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/view.h"
#include "ops/reduce/reduce_front.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::ReduceDims;
using ops::ReduceKind;

namespace {
DType sum_dtype(DType t) { return is_floating_point(t) ? t : kInt64; }

// Differentiable product over rd's dims, keeping them as size 1 (for prod's own gradient).
Tensor prod_keep(const Tensor& t, const ReduceDims& rd) {
  if (rd.dims.size() == 1 && t.dim() > 1) return prod(t, rd.dims[0], true);
  return reshape(prod(t), rd.keep_shape);
}

// d prod / d a_i = product of the other elements, computed without dividing by zero: with no zero in
// the slice it is prod / a_i; with exactly one zero only that element gets the product of the rest.
Tensor prod_backward(const Tensor& g, const Tensor& a, const ReduceDims& rd, bool keepdim) {
  Tensor gk = ops::to_keepdim(g, rd, keepdim);
  Tensor is_zero = eq(a, 0);
  Tensor nonzero = masked_fill(a, is_zero, 1);
  Tensor prod_nz = prod_keep(nonzero, rd);
  Tensor zeros_in_slice = sum(is_zero, rd.dims, true);
  Tensor others = where(eq(zeros_in_slice, 0), div(prod_nz, nonzero),
                        where(logical_and(is_zero, eq(zeros_in_slice, 1)), prod_nz, 0.0));
  return mul(gk, others);
}

// node: PyTorch's name, which differs between the whole-tensor overload (0) and the one with dims (1).
Tensor sum_impl(const Tensor& a, const ReduceDims& rd, bool keepdim, const char* node) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a}}) return sum_impl(c[0], rd, keepdim, node);
  Tensor out = ops::run_reduce(a, rd, keepdim, ReduceKind::Sum, sum_dtype(a.dtype()));
  if (autograd::needs_grad({&a})) {
    Shape in_shape = a.sizes();
    autograd::record(node, out, {a}, [rd, keepdim, in_shape](const TensorList& g, const std::vector<bool>&) {
      return TensorList{ops::expand_grad(g[0], rd, keepdim, in_shape)};
    });
  }
  return out;
}

// node: PyTorch's name, which differs between the whole-tensor overload (0) and the one with dims (1).
Tensor mean_impl(const Tensor& a, const ReduceDims& rd, bool keepdim, const char* node) {
  ops::check_floating(a, "mean");
  Tensor out = ops::run_reduce(a, rd, keepdim, ReduceKind::Mean, a.dtype());
  if (autograd::needs_grad({&a})) {
    Shape in_shape = a.sizes();
    autograd::record(node, out, {a}, [rd, keepdim, in_shape](const TensorList& g, const std::vector<bool>&) {
      // Scale the small gradient before broadcasting it over the input.
      return TensorList{ops::expand_grad(div(g[0], static_cast<double>(rd.K)), rd, keepdim, in_shape)};
    });
  }
  return out;
}

// node: PyTorch's name, which differs between the whole-tensor overload (0) and the one with dims (1).
Tensor prod_impl(const Tensor& a, const ReduceDims& rd, bool keepdim, const char* node) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&a}}) return prod_impl(c[0], rd, keepdim, node);
  Tensor out = ops::run_reduce(a, rd, keepdim, ReduceKind::Prod, sum_dtype(a.dtype()));
  if (autograd::needs_grad({&a})) {
    autograd::record(node, out, {a},
                     [sa = SavedTensor(a), rd, keepdim](const TensorList& g, const std::vector<bool>&) {
                       return TensorList{prod_backward(g[0], sa.get(), rd, keepdim)};
                     });
  }
  return out;
}
}  // namespace

Tensor sum(const Tensor& a) { return sum_impl(a, ops::resolve_dims(a, {}, "sum"), false, "SumBackward0"); }
Tensor sum(const Tensor& a, const Shape& dims, bool keepdim) {
  return sum_impl(a, ops::resolve_dims(a, dims, "sum"), keepdim, "SumBackward1");
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.sizes() == shape) return a;  // the common case in backward: nothing was broadcast
  int64_t nd = a.dim(), n = static_cast<int64_t>(shape.size()), lead = nd - n;
  bool ok = true;
  for (int64_t i = 0; i < -lead; ++i) ok = ok && shape[i] == 1;  // extra leading 1s in the target are free
  if (ok && lead < 0) return reshape(sum_to(a, Shape(shape.begin() - lead, shape.end())), shape);
  Shape dims;
  for (int64_t d = 0; ok && d < nd; ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    int64_t want = shape[d - lead], have = a.size(d);
    if (want == have) continue;
    if (want == 1) dims.push_back(d);
    else ok = false;
  }
  KILN_CHECK_SHAPE(ok, "sum_to: a tensor of shape ", a.shape_str(), " cannot be summed to shape ",
                   shape_to_string(shape), " (the target must broadcast to the source)");
  if (dims.empty()) return reshape(a, shape);
  Tensor s = sum(a, dims, true);
  if (s.dtype() != a.dtype()) s = s.to(a.dtype());  // integer sums widen; keep the gradient's dtype
  return reshape(s, shape);
}

Tensor mean(const Tensor& a) { return mean_impl(a, ops::resolve_dims(a, {}, "mean"), false, "MeanBackward0"); }
Tensor mean(const Tensor& a, const Shape& dims, bool keepdim) {
  return mean_impl(a, ops::resolve_dims(a, dims, "mean"), keepdim, "MeanBackward1");
}

Tensor prod(const Tensor& a) { return prod_impl(a, ops::resolve_dims(a, {}, "prod"), false, "ProdBackward0"); }
Tensor prod(const Tensor& a, int64_t dim, bool keepdim) {
  return prod_impl(a, ops::resolve_dim(a, dim, "prod"), keepdim, "ProdBackward1");
}

Tensor any(const Tensor& a) { return ops::run_reduce(a, ops::resolve_dims(a, {}, "any"), false, ReduceKind::Any, kBool); }
Tensor any(const Tensor& a, int64_t dim, bool keepdim) {
  return ops::run_reduce(a, ops::resolve_dim(a, dim, "any"), keepdim, ReduceKind::Any, kBool);
}
Tensor all(const Tensor& a) { return ops::run_reduce(a, ops::resolve_dims(a, {}, "all"), false, ReduceKind::All, kBool); }
Tensor all(const Tensor& a, int64_t dim, bool keepdim) {
  return ops::run_reduce(a, ops::resolve_dim(a, dim, "all"), keepdim, ReduceKind::All, kBool);
}
}  // namespace kiln
