// Activation front end: relu, leaky_relu, gelu (erf and tanh), silu, softplus. Backward runs one fused
// kernel, or differentiable composites when a graph of the gradient is wanted (create_graph).
#include "kiln/tensor/ops/creation.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::UnaryBackwardOp;
using ops::UnaryOp;

namespace {
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kGeluBeta = 0.79788456080286535588;  // sqrt(2/pi)
constexpr double kGeluKappa = 0.044715;

void check_floating(const char* op, const Tensor& a) {
  KILN_CHECK_DTYPE(a.is_floating_point(), op, ": expected a floating tensor, got ", a.dtype(),
                   "; convert it first (e.g. x.to(kFloat32))");
}

// The standard normal CDF, differentiable to any order (gelu's derivative is built from it).
Tensor norm_cdf(const Tensor& x) {
  Tensor out = ops::unary_raw(UnaryOp::NormCdf, x);
  if (autograd::needs_grad({&x})) {
    autograd::record("NormCdfBackward0", out, {x}, [sx = SavedTensor(x)](const TensorList& g, const std::vector<bool>&) {
      Tensor v = sx.get();
      return TensorList{mul(g[0], mul(exp(mul(square(v), -0.5)), kInvSqrt2Pi))};
    });
  }
  return out;
}

// gelu'(x) as differentiable ops, for double backward.
Tensor gelu_derivative(const Tensor& x, bool tanh_approx) {
  if (!tanh_approx) return add(norm_cdf(x), mul(x, mul(exp(mul(square(x), -0.5)), kInvSqrt2Pi)));
  Tensor x_sq = square(x);
  Tensor t = tanh(mul(add(x, mul(mul(x_sq, x), kGeluKappa)), kGeluBeta));
  Tensor left_d = mul(add(t, 1), 0.5);
  Tensor right_d = mul(mul(mul(x, 0.5), rsub(square(t), 1)), mul(add(mul(x_sq, 3 * kGeluKappa), 1), kGeluBeta));
  return add(left_d, right_d);
}

// Records a one-input activation node: fused(g, v) normally, composite(g, v) under create_graph.
// v is the input x, or the output y when use_output.
template <typename Fused, typename Composite>
Tensor record_activation(const char* node, const Tensor& a, const Tensor& out, bool use_output, Fused fused,
                         Composite composite) {
  if (!autograd::needs_grad({&a})) return out;
  autograd::record(node, out, {a},
                   [sv = use_output ? SavedTensor(out, true) : SavedTensor(a), fused, composite](
                       const TensorList& g, const std::vector<bool>&) {
                     Tensor v = sv.get();
                     return TensorList{autograd::grad_mode_enabled() ? composite(g[0], v) : fused(g[0], v)};
                   });
  return out;
}
}  // namespace

Tensor relu(const Tensor& a) {
  KILN_CHECK_DTYPE(a.dtype() != kBool, "relu: not supported for bool tensors; convert to a numeric dtype first");
  Tensor out = ops::unary_raw(UnaryOp::Relu, a);
  return record_activation(
      "ReluBackward0", a, out, true,
      [](const Tensor& g, const Tensor& y) { return ops::unary_backward_raw(UnaryBackwardOp::ReluOut, g, y); },
      [](const Tensor& g, const Tensor& y) { return masked_fill(g, le(y, 0), 0); });
}

Tensor leaky_relu(const Tensor& a, double slope) {
  check_floating("leaky_relu", a);
  Tensor out = ops::unary_raw(UnaryOp::LeakyRelu, a, slope);
  return record_activation(
      "LeakyReluBackward0", a, out, false,
      [slope](const Tensor& g, const Tensor& x) {
        return ops::unary_backward_raw(UnaryBackwardOp::LeakyRelu, g, x, slope);
      },
      [slope](const Tensor& g, const Tensor& x) { return where(gt(x, 0), g, mul(g, slope)); });
}

Tensor gelu(const Tensor& a, const std::string& approximate) {
  KILN_CHECK(approximate == "none" || approximate == "tanh", "gelu: approximate must be \"none\" or \"tanh\", got \"",
             approximate, "\"");
  check_floating("gelu", a);
  bool t = approximate == "tanh";
  Tensor out = ops::unary_raw(t ? UnaryOp::GeluTanh : UnaryOp::GeluErf, a);
  return record_activation(
      "GeluBackward0", a, out, false,
      [t](const Tensor& g, const Tensor& x) {
        return ops::unary_backward_raw(t ? UnaryBackwardOp::GeluTanh : UnaryBackwardOp::GeluErf, g, x);
      },
      [t](const Tensor& g, const Tensor& x) { return mul(g, gelu_derivative(x, t)); });
}

Tensor silu(const Tensor& a) {
  check_floating("silu", a);
  Tensor out = ops::unary_raw(UnaryOp::Silu, a);
  return record_activation(
      "SiluBackward0", a, out, false,
      [](const Tensor& g, const Tensor& x) { return ops::unary_backward_raw(UnaryBackwardOp::Silu, g, x); },
      [](const Tensor& g, const Tensor& x) {
        Tensor s = sigmoid(x);
        return mul(mul(g, s), add(mul(x, rsub(s, 1)), 1));
      });
}

Tensor softplus(const Tensor& a, double beta, double threshold) {
  check_floating("softplus", a);
  KILN_CHECK(beta != 0, "softplus: beta must be nonzero");
  Tensor out = ops::unary_raw(UnaryOp::Softplus, a, beta, threshold);
  return record_activation(
      "SoftplusBackward0", a, out, false,
      [beta, threshold](const Tensor& g, const Tensor& x) {
        return ops::unary_backward_raw(UnaryBackwardOp::Softplus, g, x, beta, threshold);
      },
      [beta, threshold](const Tensor& g, const Tensor& x) {
        Tensor bx = mul(x, beta);
        return where(gt(bx, threshold), g, mul(g, sigmoid(bx)));
      });
}
}  // namespace kiln
