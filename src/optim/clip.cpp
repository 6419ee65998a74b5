// Gradient clipping: one norm per gradient, combined on the device, then one scale per gradient.
#include "kiln/optim/clip.h"

#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"

namespace kiln::optim {
namespace {
Tensor vector_norm(const Tensor& t, double p) { return std::isinf(p) ? max(abs(t)) : norm(t, p); }
}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  KILN_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be positive (or INFINITY); got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return scalar_tensor(0.0, TensorOptions(kFloat32));

  const Device device = grads[0].device();
  DType dtype = grads[0].dtype();
  for (const Tensor& g : grads) dtype = promote_types(dtype, g.dtype());
  std::vector<Tensor> norms;
  for (const Tensor& g : grads)
    if (g.numel() > 0) norms.push_back(vector_norm(g, norm_type).to(device, dtype));
  Tensor total;
  if (norms.empty()) total = zeros({}, TensorOptions(dtype).device(device));
  else if (norms.size() == 1) total = norms[0];
  else total = vector_norm(stack(norms), norm_type);

  if (error_if_nonfinite) {
    KILN_CHECK(isfinite(total).item<bool>(), "clip_grad_norm_: the total norm of order ", norm_type,
               " of the gradients is non-finite, so it cannot be clipped. To clip anyway (the gradients become "
               "NaN), pass error_if_nonfinite=false");
  }
  // min(1, max_norm / (total + 1e-6)): computed on the device so that no value is read back.
  Tensor coef = clamp_max(mul(reciprocal(add(total, 1e-6)), max_norm), 1.0);
  for (Tensor& g : grads) {
    Tensor c = coef.to(g.device(), g.dtype());
    mul_(g, c);
  }
  return total;
}

Tensor clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type, bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  KILN_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0; got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : parameters) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    clamp_(g, -clip_value, clip_value);
  }
}

void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}
}  // namespace kiln::optim
