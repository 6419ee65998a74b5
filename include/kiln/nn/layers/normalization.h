// LayerNorm: normalisation over the trailing dims with a learnable scale and shift.
#pragma once
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// torch.nn.LayerNorm: y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing dims equal to
/// normalized_shape (biased variance). weight = ones, bias = zeros, registered only when elementwise_affine.
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  /// Normalises over one trailing dim of size n.
  explicit LayerNormImpl(int64_t n, double eps = 1e-5, bool elementwise_affine = true)
      : LayerNormImpl(Shape{n}, eps, elementwise_affine) {}
  explicit LayerNormImpl(const LayerNormOptions& o)
      : LayerNormImpl(o.normalized_shape(), o.eps(), o.elementwise_affine()) {}
  /// ShapeError when x's trailing dims differ from normalized_shape.
  Tensor forward(const Tensor& x);
  void reset_parameters();
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight, bias;
};
KILN_MODULE(LayerNorm);
}  // namespace kiln::nn
