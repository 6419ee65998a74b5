// LayerNorm layer.
#include "kiln/nn/layers/normalization.h"

#include <sstream>

#include "kiln/nn/functional.h"
#include "nn/python_repr.h"
#include "kiln/nn/init.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::nn {

LayerNormImpl::LayerNormImpl(Shape shape, double eps, bool elementwise_affine)
    : normalized_shape(std::move(shape)), eps(eps), elementwise_affine(elementwise_affine) {
  KILN_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must have at least one dim");
  for (int64_t s : normalized_shape)
    KILN_CHECK(s > 0, "LayerNorm: normalized_shape must be positive, got ", shape_to_string(normalized_shape));
  KILN_CHECK(eps >= 0, "LayerNorm: eps must be non-negative, got ", eps);
  if (elementwise_affine) {
    weight = register_parameter("weight", empty(normalized_shape));
    bias = register_parameter("bias", empty(normalized_shape));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (!elementwise_affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& x) { return functional::layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNormImpl::extra_repr() const {
  return detail::py_tuple(normalized_shape) + ", eps=" + detail::py_float(eps) +
         ", elementwise_affine=" + detail::py_bool(elementwise_affine);
}
}  // namespace kiln::nn
