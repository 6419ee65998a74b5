// Argument checks shared by the nn::functional loss files.
#pragma once
#include "kiln/tensor/tensor.h"

namespace kiln::nn::functional::detail {
/// Checks a loss's (input, target) pair: defined, floating input, equal shapes (ShapeError naming both),
/// same device. Returns target cast to input's dtype (differentiably).
Tensor checked_target(const Tensor& input, const Tensor& target, const char* fn);
/// Checks that an optional per-element weight broadcasts to input's shape; returns it in input's dtype.
Tensor checked_weight(const Tensor& input, const Tensor& weight, const char* fn, const char* what);
}  // namespace kiln::nn::functional::detail
