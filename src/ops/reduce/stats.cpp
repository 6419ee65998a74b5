// Front ends of var, std, norm and logsumexp, with their gradients.
#include <cmath>

#include "kiln/autograd/node.h"
#include "ops/autocast/autocast_inputs.h"
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
// A backward that uses its op's output differentiably recomputes it from the saved input when
// grad mode is on (create_graph), because the saved output is stored without its graph (to avoid a cycle)
// and double backward would otherwise miss the path through it.

double dof(const ReduceDims& rd, int64_t correction) {
  return std::max(0.0, static_cast<double>(rd.K) - static_cast<double>(correction));
}

Tensor var_std(const Tensor& a, const Shape& dims, int64_t correction, bool keepdim, bool take_sqrt) {
  const char* name = take_sqrt ? "std" : "var";
  ops::check_floating(a, name);
  ReduceDims rd = ops::resolve_dims(a, dims, name);
  Tensor out = ops::run_reduce(a, rd, keepdim, take_sqrt ? ReduceKind::Std : ReduceKind::Var, a.dtype(),
                               static_cast<double>(correction));
  if (autograd::needs_grad({&a})) {
    autograd::record(take_sqrt ? "StdBackward0" : "VarBackward0", out, {a},
                     [sa = SavedTensor(a), so = SavedTensor(out, true), rd, keepdim, correction, take_sqrt](
                         const TensorList& g, const std::vector<bool>&) {
                       Tensor x = sa.get();
                       Tensor gk = ops::to_keepdim(g[0], rd, keepdim);
                       Tensor centred = sub(x, mean(x, rd.dims, true));
                       if (!take_sqrt) return TensorList{mul(mul(gk, centred), 2.0 / dof(rd, correction))};
                       // d std = d var / (2 std); a zero std (constant slice) gets zero gradient, as torch.
                       Tensor sk = autograd::grad_mode_enabled() ? std(x, rd.dims, correction, true)  // see above
                                                                 : ops::to_keepdim(so.get(), rd, keepdim);
                       Tensor gs = masked_fill(div(gk, sk), eq(sk, 0), 0.0);
                       return TensorList{mul(mul(gs, centred), 1.0 / dof(rd, correction))};
                     });
  }
  return out;
}

ReduceKind norm_kind(double p) {
  if (p == 0) return ReduceKind::Norm0;
  if (p == 1) return ReduceKind::Norm1;
  if (p == 2) return ReduceKind::Norm2;
  if (std::isinf(p)) return p > 0 ? ReduceKind::NormInf : ReduceKind::NormNegInf;
  return ReduceKind::NormP;
}

Tensor norm_backward(const Tensor& g, const Tensor& x, const Tensor& out, double p, const ReduceDims& rd, bool keepdim) {
  Tensor gk = ops::to_keepdim(g, rd, keepdim);
  Tensor nk = ops::to_keepdim(out, rd, keepdim);
  if (p == 0) return zeros_like(x);
  if (p == 1) return mul(sign(x), gk);
  if (std::isinf(p)) {
    // Like amax of |x|: shared evenly among the elements that attain it.
    Tensor is_sel = eq(abs(x), nk);
    Tensor count = sum(is_sel, rd.dims, true);
    return mul(sign(x), where(is_sel, div(gk, count), 0.0));
  }
  // d ||x||_p / dx = sign(x) |x|^(p-1) / ||x||^(p-1); a zero norm gets zero gradient.
  Tensor scale = masked_fill(div(gk, p == 2 ? nk : pow(nk, p - 1)), eq(nk, 0), 0.0);
  Tensor dir = p == 2 ? x : mul(sign(x), pow(abs(x), p - 1));
  return mul(dir, scale);
}
}  // namespace

Tensor var(const Tensor& a, const Shape& dims, int64_t correction, bool keepdim) {
  return var_std(a, dims, correction, keepdim, false);
}
Tensor std(const Tensor& a, const Shape& dims, int64_t correction, bool keepdim) {
  return var_std(a, dims, correction, keepdim, true);
}

Tensor norm(const Tensor& a, double p, const Shape& dims, bool keepdim) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a}}) return norm(c[0], p, dims, keepdim);
  ops::check_floating(a, "norm");
  KILN_CHECK(!std::isnan(p), "norm(): p must be a number, got nan");
  ReduceDims rd = ops::resolve_dims(a, dims, "norm");
  ReduceKind kind = norm_kind(p);
  if (kind == ReduceKind::NormInf || kind == ReduceKind::NormNegInf) ops::check_nonempty_reduction(a, rd, "norm");
  Tensor out = ops::run_reduce(a, rd, keepdim, kind, a.dtype(), p);
  if (autograd::needs_grad({&a}))
    autograd::record("NormBackward1", out, {a},
                     [sa = SavedTensor(a), so = SavedTensor(out, true), p, rd, keepdim](const TensorList& g,
                                                                                      const std::vector<bool>&) {
                       Tensor x = sa.get();
                       Tensor out = autograd::grad_mode_enabled() ? norm(x, p, rd.dims, true) : so.get();
                       return TensorList{norm_backward(g[0], x, out, p, rd, keepdim)};
                     });
  return out;
}

Tensor logsumexp(const Tensor& a, const Shape& dims, bool keepdim) {
  // Integer inputs compute in the default float dtype, as torch.logsumexp.
  Tensor x = a.is_floating_point() ? a : a.to(default_float_dtype());
  ReduceDims rd = ops::resolve_dims(x, dims, "logsumexp");
  Tensor out = ops::run_reduce(x, rd, keepdim, ReduceKind::LogSumExp, x.dtype());
  if (autograd::needs_grad({&x}))
    autograd::record("LogsumexpBackward0", out, {x},
                     [sx = SavedTensor(x), so = SavedTensor(out, true), rd, keepdim](const TensorList& g,
                                                                                   const std::vector<bool>&) {
                       Tensor xv = sx.get();
                       Tensor ok = autograd::grad_mode_enabled() ? logsumexp(xv, rd.dims, true)
                                                                 : ops::to_keepdim(so.get(), rd, keepdim);
                       return TensorList{mul(ops::to_keepdim(g[0], rd, keepdim), exp(sub(xv, ok)))};
                     });
  return out;
}
}  // namespace kiln
