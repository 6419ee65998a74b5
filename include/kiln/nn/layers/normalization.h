// LayerNorm and GroupNorm: normalisation over the trailing dims, or over groups of channels, with a learnable
// scale and shift.
#pragma once
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// torch.nn.LayerNorm: y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing dims equal to
/// normalized_shape (biased variance). weight = ones, bias = zeros, registered only when elementwise_affine.
class LayerNormImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<LayerNormImpl>(normalized_shape, eps, elementwise_affine))
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

/// GroupNorm's settings (libtorch's GroupNormOptions(num_groups, num_channels).eps(1e-5).affine(true)).
class GroupNormOptions {
 public:
  GroupNormOptions(int64_t num_groups, int64_t num_channels) : num_groups_(num_groups), num_channels_(num_channels) {}
#define KILN_GN_ARG(type, name)            \
  GroupNormOptions& name(const type& v) {  \
    name##_ = v;                           \
    return *this;                          \
  }                                        \
  const type& name() const { return name##_; }
  KILN_GN_ARG(int64_t, num_groups)
  KILN_GN_ARG(int64_t, num_channels)
  KILN_GN_ARG(double, eps)
  KILN_GN_ARG(bool, affine)
#undef KILN_GN_ARG

 private:
  int64_t num_groups_, num_channels_;
  double eps_ = 1e-5;
  bool affine_ = true;
};

/// torch.nn.GroupNorm: F::group_norm over x [N, num_channels, ...] with weight = ones and bias = zeros
/// [num_channels], registered only when affine. ValueError when num_groups does not divide num_channels.
class GroupNormImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<GroupNormImpl>(options))
  explicit GroupNormImpl(GroupNormOptions options);
  GroupNormImpl(int64_t num_groups, int64_t num_channels) : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& x);
  void reset_parameters();
  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;

  GroupNormOptions options;
  Tensor weight, bias;  ///< undefined unless options.affine()
};
KILN_MODULE(GroupNorm);
}  // namespace kiln::nn
