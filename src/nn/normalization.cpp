// LayerNorm and GroupNorm layers.
#include "kiln/nn/layers/normalization.h"

#include <sstream>

#include "kiln/nn/functional.h"
#include "kiln/nn/functional/conv.h"
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

namespace kiln::nn {
GroupNormImpl::GroupNormImpl(GroupNormOptions opts) : options(std::move(opts)) {
  const int64_t groups = options.num_groups(), channels = options.num_channels();
  KILN_CHECK(groups > 0 && channels > 0, "GroupNorm: num_groups and num_channels must be positive, got ", groups,
             " and ", channels);
  KILN_CHECK(channels % groups == 0, "GroupNorm: num_channels must be divisible by num_groups, got ", channels,
             " channels and ", groups, " groups");
  KILN_CHECK(options.eps() >= 0, "GroupNorm: eps must be non-negative, got ", options.eps());
  if (options.affine()) {
    weight = register_parameter("weight", empty({channels}));
    bias = register_parameter("bias", empty({channels}));
  }
  reset_parameters();
}

void GroupNormImpl::reset_parameters() {
  if (!options.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  if (x.defined() && x.dim() >= 2)
    KILN_CHECK_SHAPE(x.size(1) == options.num_channels(), "GroupNorm: expected ", options.num_channels(),
                     " channels (dim 1) but input ", x.shape_str(), " has ", x.size(1));
  return functional::group_norm(x, options.num_groups(), weight, bias, options.eps());
}

std::string GroupNormImpl::extra_repr() const {
  return std::to_string(options.num_groups()) + ", " + std::to_string(options.num_channels()) +
         ", eps=" + detail::py_float(options.eps()) + ", affine=" + detail::py_bool(options.affine());
}
}  // namespace kiln::nn
