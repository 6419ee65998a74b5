// Front end of the linalg family: shape/dtype/device rules of matmul, mm, bmm, addmm and linear, how operands
// become GEMM arguments without copies, and their gradients.
#include "kiln/tensor/ops/linalg.h"
#include "ops/autocast/autocast_inputs.h"

#include <algorithm>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/ops/view.h"
#include "ops/elementwise/iter.h"
#include "ops/linalg/linalg_kernels.h"
#include "ops/op_stream.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(gemm_stub);
}

namespace {
using autograd::SavedTensor;
using autograd::TensorList;

// Describes a matrix with sizes (r, c) and strides (s0, s1) as a BLAS operand when one of its dims has unit
// stride (a plain or transposed view); false when it needs a contiguous copy (e.g. stride 0 or a stepped slice).
bool blas_layout(int64_t r, int64_t c, int64_t s0, int64_t s1, bool& trans, int64_t& ld) {
  if ((s1 == 1 || c <= 1) && (r <= 1 || s0 >= std::max<int64_t>(c, 1))) {
    trans = false;
    ld = r <= 1 ? std::max<int64_t>(c, 1) : s0;
    return true;
  }
  if ((s0 == 1 || r <= 1) && (c <= 1 || s1 >= std::max<int64_t>(r, 1))) {
    trans = true;
    ld = c <= 1 ? std::max<int64_t>(r, 1) : s1;
    return true;
  }
  return false;
}

// A GEMM operand for t ([r, c] or [batch, r, c]); `keep` holds a contiguous copy when the layout needs one.
ops::GemmOperand gemm_operand(const Tensor& t, Tensor& keep) {
  keep = t;
  int64_t nd = t.dim();
  ops::GemmOperand o;
  if (!blas_layout(t.size(nd - 2), t.size(nd - 1), t.stride(nd - 2), t.stride(nd - 1), o.trans, o.ld)) {
    keep = contiguous(t);
    blas_layout(keep.size(nd - 2), keep.size(nd - 1), keep.stride(nd - 2), keep.stride(nd - 1), o.trans, o.ld);
  }
  o.data = keep.data_ptr();
  o.batch_stride = nd == 3 && keep.size(0) > 1 ? keep.stride(0) : 0;
  return o;
}

// c (fresh, contiguous, [m, n] or [batch, m, n]) = alpha * a @ b + beta * c, with no autograd.
// An empty inner dimension never reaches a kernel: c becomes zeros (beta == 0) or beta * c.
void run_gemm(const char* op, const Tensor& a, const Tensor& b, Tensor& c, double alpha, double beta) {
  int64_t nd = c.dim();
  int64_t m = c.size(nd - 2), n = c.size(nd - 1), k = a.size(nd - 1);
  if (c.numel() == 0) return;
  if (k == 0) {
    if (beta == 0) c.fill_(0);
    else if (beta != 1) c.copy_(mul(c, Scalar(beta)));
    return;
  }
  ops::GemmParams p;
  p.dtype = c.dtype();
  p.device = c.device();
  p.stream = ops::op_stream(p.device);
  p.batch = nd == 3 ? c.size(0) : 1;
  p.m = m;
  p.n = n;
  p.k = k;
  Tensor keep_a, keep_b;
  p.a = gemm_operand(a, keep_a);
  p.b = gemm_operand(b, keep_b);
  p.c = c.data_ptr();
  p.ldc = n;
  p.c_batch_stride = m * n;
  p.alpha = alpha;
  p.beta = beta;
  p.op = op;
  ops::gemm_stub(c.device().type(), p);
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  KILN_CHECK_DTYPE(a.dtype() == b.dtype(), op, ": expected both operands to have the same dtype, got ", a.dtype(),
                   " ", a.shape_str(), " and ", b.dtype(), " ", b.shape_str(), "; cast one with .to(", a.dtype(),
                   ")");
  KILN_CHECK_DTYPE(a.dtype() != kBool, op, ": matrix products are not defined for bool tensors; cast to an integer "
                   "or floating dtype");
}

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  KILN_CHECK(a.defined() && b.defined(), op, ": undefined tensor");
  ops::check_same_device(op, {&a, &b});
  check_same_dtype(op, a, b);
}

void check_inner(const char* op, const Tensor& a, const Tensor& b, int64_t ka, int64_t kb) {
  KILN_CHECK_SHAPE(ka == kb, op, ": cannot multiply ", a.shape_str(), " by ", b.shape_str(), ": inner dimensions ",
                   ka, " and ", kb, " differ");
}

Shape concat(Shape s, std::initializer_list<int64_t> tail) {
  s.insert(s.end(), tail);
  return s;
}
}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&a, &b}}) return mm(c[0], c[1]);
  check_operands("mm", a, b);
  KILN_CHECK_SHAPE(a.dim() == 2 && b.dim() == 2, "mm: expected two 2-D matrices, got ", a.shape_str(), " and ",
                   b.shape_str(), " (use matmul for other ranks)");
  check_inner("mm", a, b, a.size(1), b.size(0));
  Tensor out = make_tensor({a.size(0), b.size(1)}, a.dtype(), a.device());
  {
    NoGradGuard no_grad;
    run_gemm("mm", a, b, out, 1, 0);
  }
  if (autograd::needs_grad({&a, &b}))
    autograd::record("MmBackward0", out, {a, b},
                     [sa = SavedTensor(a), sb = SavedTensor(b)](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = mm(g[0], sb.get().t());
                       if (need[1]) r[1] = mm(sa.get().t(), g[0]);
                       return r;
                     });
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&a, &b}}) return bmm(c[0], c[1]);
  check_operands("bmm", a, b);
  KILN_CHECK_SHAPE(a.dim() == 3 && b.dim() == 3, "bmm: expected two 3-D batches of matrices, got ", a.shape_str(),
                   " and ", b.shape_str(), " (use matmul to broadcast batch dims)");
  KILN_CHECK_SHAPE(a.size(0) == b.size(0), "bmm: batch sizes of ", a.shape_str(), " and ", b.shape_str(),
                   " differ (", a.size(0), " vs ", b.size(0), "); use matmul to broadcast them");
  check_inner("bmm", a, b, a.size(2), b.size(1));
  Tensor out = make_tensor({a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
  {
    NoGradGuard no_grad;
    run_gemm("bmm", a, b, out, 1, 0);
  }
  if (autograd::needs_grad({&a, &b}))
    autograd::record("BmmBackward0", out, {a, b},
                     [sa = SavedTensor(a), sb = SavedTensor(b)](const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = bmm(g[0], sb.get().transpose(1, 2));
                       if (need[1]) r[1] = bmm(sa.get().transpose(1, 2), g[0]);
                       return r;
                     });
  return out;
}

// matmul is composed of differentiable views, expand and mm/bmm, so its gradient (including the sum over
// broadcast batch dims, which is expand's backward) comes from theirs.
Tensor matmul(const Tensor& a, const Tensor& b) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&a, &b}}) return matmul(c[0], c[1]);
  check_operands("matmul", a, b);
  const int64_t da = a.dim(), db = b.dim();
  KILN_CHECK_SHAPE(da >= 1 && db >= 1, "matmul: both arguments need at least 1 dimension, got ", a.shape_str(),
                   " and ", b.shape_str());
  const int64_t k = a.size(da - 1), kb = db == 1 ? b.size(0) : b.size(db - 2);
  check_inner("matmul", a, b, k, kb);
  if (da == 1 && db == 1) return reshape(mm(a.unsqueeze(0), b.unsqueeze(1)), {});
  if (da == 2 && db == 1) return mm(a, b.unsqueeze(1)).squeeze(1);
  if (da == 1 && db == 2) return mm(a.unsqueeze(0), b).squeeze(0);
  if (da == 2 && db == 2) return mm(a, b);
  if (da >= 3 && db <= 2) {
    // Fold a's batch dims into its rows: one GEMM instead of a batch of them.
    Shape lead(a.sizes().begin(), a.sizes().end() - 1);
    Tensor a2 = reshape(a, {shape_numel(lead), k});
    if (db == 1) return reshape(mm(a2, b.unsqueeze(1)), lead);
    lead.push_back(b.size(1));
    return reshape(mm(a2, b), lead);
  }
  Tensor a3 = da == 1 ? a.unsqueeze(0) : a;
  Tensor b3 = db == 1 ? b.unsqueeze(1) : b;
  Shape batch_a(a3.sizes().begin(), a3.sizes().end() - 2), batch_b(b3.sizes().begin(), b3.sizes().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(batch_a, batch_b);
  } catch (const ShapeError&) {
    throw ShapeError(detail::str("matmul: the batch dims of ", a.shape_str(), " and ", b.shape_str(),
                                 " do not broadcast (", shape_to_string(batch_a), " vs ", shape_to_string(batch_b),
                                 ")"));
  }
  const int64_t n = a3.size(a3.dim() - 2), m = b3.size(b3.dim() - 1);
  const int64_t nb = shape_numel(batch);
  Tensor ae = reshape(a3.expand(concat(batch, {n, k})), {nb, n, k});
  Tensor be = reshape(b3.expand(concat(batch, {k, m})), {nb, k, m});
  Tensor out = reshape(bmm(ae, be), concat(batch, {n, m}));
  if (da == 1) out = out.squeeze(out.dim() - 2);
  if (db == 1) out = out.squeeze(-1);
  return out;
}

Tensor addmm(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& beta, const Scalar& alpha) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&self, &a, &b}})
    return addmm(c[0], c[1], c[2], beta, alpha);
  check_operands("addmm", a, b);
  KILN_CHECK(self.defined(), "addmm: undefined self");
  ops::check_same_device("addmm", {&self, &a});
  KILN_CHECK_DTYPE(self.dtype() == a.dtype(), "addmm: self has dtype ", self.dtype(), " but the matrices have ",
                   a.dtype(), "; cast self with .to(", a.dtype(), ")");
  KILN_CHECK_DTYPE(is_floating_point(a.dtype()) || (!alpha.is_floating_point() && !beta.is_floating_point()),
                   "addmm: for integer tensors alpha and beta must be integers, got alpha ", alpha, " and beta ", beta);
  KILN_CHECK_SHAPE(a.dim() == 2 && b.dim() == 2, "addmm: expected two 2-D matrices, got ", a.shape_str(), " and ",
                   b.shape_str());
  check_inner("addmm", a, b, a.size(1), b.size(0));
  Shape out_shape{a.size(0), b.size(1)};
  Tensor out = make_tensor(out_shape, a.dtype(), a.device());
  const double beta_d = beta.to_double(), alpha_d = alpha.to_double();
  {
    NoGradGuard no_grad;
    try {
      if (beta_d != 0) out.copy_(self);  // broadcast self into the output; the GEMM then accumulates onto it
      else (void)expand(self, out_shape);  // self is ignored when beta == 0, but must still broadcast
    } catch (const ShapeError&) {
      throw ShapeError(detail::str("addmm: self of shape ", self.shape_str(), " does not broadcast to the product's ",
                                   "shape ", shape_to_string(out_shape), " (", a.shape_str(), " @ ", b.shape_str(),
                                   ")"));
    }
    run_gemm("addmm", a, b, out, alpha_d, beta_d);
  }
  if (autograd::needs_grad({&self, &a, &b})) {
    Shape self_shape = self.sizes();
    autograd::record("AddmmBackward0", out, {self, a, b},
                     [sa = SavedTensor(a), sb = SavedTensor(b), self_shape, beta, alpha, alpha_d, beta_d](
                         const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(3);
                       if (need[0]) r[0] = sum_to(beta_d == 1 ? g[0] : mul(g[0], beta), self_shape);
                       if (need[1]) {
                         r[1] = mm(g[0], sb.get().t());
                         if (alpha_d != 1) r[1] = mul(r[1], alpha);
                       }
                       if (need[2]) {
                         r[2] = mm(sa.get().t(), g[0]);
                         if (alpha_d != 1) r[2] = mul(r[2], alpha);
                       }
                       return r;
                     });
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&x, &weight, &bias}})
    return linear(c[0], c[1], c[2]);
  check_operands("linear", x, weight);
  KILN_CHECK_SHAPE(x.dim() >= 1, "linear: the input must have at least 1 dimension, got a 0-dim tensor");
  KILN_CHECK_SHAPE(weight.dim() == 2, "linear: weight must be 2-D [out_features, in_features], got ",
                   weight.shape_str());
  const int64_t in = weight.size(1), out_f = weight.size(0);
  KILN_CHECK_SHAPE(x.size(x.dim() - 1) == in, "linear: input ", x.shape_str(), " has ", x.size(x.dim() - 1),
                   " features but weight ", weight.shape_str(), " expects ", in);
  if (bias.defined()) {
    ops::check_same_device("linear", {&x, &bias});
    KILN_CHECK_DTYPE(bias.dtype() == x.dtype(), "linear: bias has dtype ", bias.dtype(), " but input and weight have ",
                     x.dtype());
    KILN_CHECK_SHAPE(bias.dim() <= 1 && (bias.numel() == out_f || bias.numel() == 1), "linear: bias of shape ",
                     bias.shape_str(), " does not match out_features ", out_f, " of weight ", weight.shape_str());
  }
  Shape out_shape(x.sizes().begin(), x.sizes().end() - 1);
  const int64_t rows = shape_numel(out_shape);
  out_shape.push_back(out_f);
  Tensor out;
  {
    NoGradGuard no_grad;
    // Leading dims flatten into the GEMM's rows; the bias seeds C so the GEMM adds onto it (beta = 1).
    Tensor x2 = reshape(x, {rows, in});
    Tensor out2 = make_tensor({x2.size(0), out_f}, x.dtype(), x.device());
    if (bias.defined()) out2.copy_(bias);
    run_gemm("linear", x2, weight.t(), out2, 1, bias.defined() ? 1 : 0);
    out = out2.view(out_shape);
  }
  if (autograd::needs_grad({&x, &weight, &bias})) {
    Shape x_shape = x.sizes();
    Shape b_shape = bias.defined() ? bias.sizes() : Shape{};
    autograd::record("LinearBackward0", out, {x, weight, bias},
                     [sx = SavedTensor(x), sw = SavedTensor(weight), x_shape, b_shape, rows, in, out_f](
                         const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(3);
                       Tensor g2 = reshape(g[0], {rows, out_f});
                       if (need[0]) r[0] = reshape(mm(g2, sw.get()), x_shape);
                       if (need[1]) r[1] = mm(g2.t(), reshape(sx.get(), {rows, in}));
                       if (need[2]) r[2] = sum_to(sum(g2, {0}), b_shape);
                       return r;
                     });
  }
  return out;
}
}  // namespace kiln
