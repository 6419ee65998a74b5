// Gradients of the op table's unary ops (one function per row of KILN_FORALL_UNARY_OPS).
#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/pointwise/pointwise_common.h"
#include "ops/pointwise/unary_grads.h"

namespace kiln::ops {

Tensor exp_backward(const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, y); }
Tensor log_backward(const Tensor& g, const Tensor& x, const Tensor&) { return div(g, x); }
Tensor log1p_backward(const Tensor& g, const Tensor& x, const Tensor&) { return div(g, add(x, 1)); }
Tensor sqrt_backward(const Tensor& g, const Tensor&, const Tensor& y) { return div(g, mul(y, 2)); }
// d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
Tensor rsqrt_backward(const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, mul(pow(y, 3), -0.5)); }
Tensor sin_backward(const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, cos(x)); }
Tensor cos_backward(const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, neg(sin(x))); }
Tensor reciprocal_backward(const Tensor& g, const Tensor&, const Tensor& y) { return neg(mul(g, square(y))); }

// tanh and sigmoid: one fused kernel unless a differentiable graph is wanted (create_graph).
Tensor tanh_backward(const Tensor& g, const Tensor&, const Tensor& y) {
  if (!autograd::grad_mode_enabled()) return unary_backward_raw(UnaryBackwardOp::TanhOut, g, y);
  return mul(g, rsub(square(y), 1));
}
Tensor sigmoid_backward(const Tensor& g, const Tensor&, const Tensor& y) {
  if (!autograd::grad_mode_enabled()) return unary_backward_raw(UnaryBackwardOp::SigmoidOut, g, y);
  return mul(mul(g, y), rsub(y, 1));
}
}  // namespace kiln::ops
