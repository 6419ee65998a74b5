// Channel-wise functions for images, composed from tensor ops: group_norm and dropout2d (so both devices and
// autograd come from the ops they are made of).
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln::nn::functional {
namespace {
void check_input(const Tensor& x, const char* fn) {
  KILN_CHECK(x.defined(), fn, ": input is an undefined tensor");
  KILN_CHECK_DTYPE(x.is_floating_point(), fn, ": input must be a floating-point tensor, got ", x.dtype());
}
void check_channel_param(const Tensor& x, const Tensor& p, int64_t channels, const char* fn, const char* what) {
  if (!p.defined()) return;
  KILN_CHECK_SHAPE(p.dim() == 1 && p.size(0) == channels, fn, ": expected ", what, " [", channels,
                   "] (one per channel of input ", x.shape_str(), "), got ", p.shape_str());
  KILN_CHECK_DEVICE(p.device() == x.device(), fn, ": input is on ", x.device(), " but ", what, " is on ", p.device(),
                    "; move one of them (x.to(device) or module->to(device))");
}
// [1, C, 1, ...]: a per-channel tensor broadcast over x's batch and spatial dims.
Tensor per_channel(const Tensor& p, const Tensor& x, DType dtype) {
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[1] = p.size(0);
  return p.to(dtype).reshape(s);
}
}  // namespace

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&x, &weight, &bias}})
    return group_norm(c[0], num_groups, c[1], c[2], eps);
  check_input(x, "group_norm");
  KILN_CHECK_SHAPE(x.dim() >= 2, "group_norm: expected input [N, C, ...], got ", x.shape_str());
  const int64_t n = x.size(0), c = x.size(1);
  KILN_CHECK(num_groups > 0, "group_norm: num_groups must be positive, got ", num_groups);
  KILN_CHECK_SHAPE(c % num_groups == 0, "group_norm: num_groups=", num_groups, " must divide the channels (", c,
                   ") of input ", x.shape_str());
  check_channel_param(x, weight, c, "group_norm", "weight");
  check_channel_param(x, bias, c, "group_norm", "bias");
  KILN_CHECK(eps >= 0, "group_norm: eps must be non-negative, got ", eps);
  // Reduced precision computes in float32 (mean and variance need the range), then casts back, as layer_norm.
  const DType out_dtype = x.dtype();
  const DType compute = is_reduced_float(out_dtype) ? kFloat32 : out_dtype;
  const int64_t group_size = x.numel() / std::max<int64_t>(1, n * num_groups);
  Tensor xg = x.to(compute).reshape({n, num_groups, group_size});
  Tensor mu = mean(xg, {2}, /*keepdim=*/true);
  Tensor centered = sub(xg, mu);
  Tensor var = mean(mul(centered, centered), {2}, /*keepdim=*/true);  // biased, as PyTorch
  Tensor y = mul(centered, rsqrt(add(var, eps))).reshape(x.sizes());
  if (weight.defined()) y = mul(y, per_channel(weight, x, compute));
  if (bias.defined()) y = add(y, per_channel(bias, x, compute));
  return y.to(out_dtype);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, "dropout2d probability has to be between 0 and 1, but got ", p);
  check_input(x, "dropout2d");
  KILN_CHECK_SHAPE(x.dim() == 3 || x.dim() == 4, "dropout2d: expected input [N, C, H, W] or [C, H, W], got ",
                   x.shape_str());
  if (!training || p == 0.0 || x.numel() == 0) return x;
  if (p == 1.0) return mul(x, 0.0);  // all dropped; keeps the graph so gradients are zeros
  // One draw per channel ([N, C, 1, 1]), broadcast over the plane; the mask carries the 1/(1-p) scale.
  Shape mask_shape = x.sizes();
  mask_shape[mask_shape.size() - 1] = mask_shape[mask_shape.size() - 2] = 1;
  Tensor mask = mul(bernoulli(mask_shape, 1.0 - p, x.options(), gen), 1.0 / (1.0 - p));
  return mul(x, mask);
}
}  // namespace kiln::nn::functional
