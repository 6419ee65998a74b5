// Affine and shape layers: Linear, Bilinear, Identity, Flatten.
#pragma once
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// Linear's options, as libtorch: nn::Linear(nn::LinearOptions(in, out).bias(false)).
class LinearOptions {
 public:
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& in_features(int64_t v) { in_features_ = v; return *this; }
  LinearOptions& out_features(int64_t v) { out_features_ = v; return *this; }
  LinearOptions& bias(bool v) { bias_ = v; return *this; }
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  bool bias() const { return bias_; }

 private:
  int64_t in_features_, out_features_;
  bool bias_ = true;
};

/// y = x W^T + b (torch.nn.Linear). weight [out, in] ~ kaiming_uniform_(a = sqrt(5)), i.e.
/// U(-1/sqrt(in), 1/sqrt(in)); bias [out] ~ U(-1/sqrt(in), 1/sqrt(in)), as torch's reset_parameters.
class LinearImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<LinearImpl>(in_features, out_features, bias.defined()))
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  explicit LinearImpl(const LinearOptions& options)
      : LinearImpl(options.in_features(), options.out_features(), options.bias()) {}
  /// x: [..., in_features] -> [..., out_features]; ShapeError when the last dim is not in_features.
  Tensor forward(const Tensor& x);
  /// Re-draws weight and bias from the default generator with torch's initialisation.
  void reset_parameters();
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  Tensor weight;
  Tensor bias;  ///< undefined when constructed with bias = false
};
KILN_MODULE(Linear);

/// y[..., o] = x1[..., :] W[o] x2[..., :] + b[o] (torch.nn.Bilinear); weight [out, in1, in2] and bias
/// [out] ~ U(-1/sqrt(in1), 1/sqrt(in1)).
class BilinearImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<BilinearImpl>(in1_features, in2_features, out_features, bias.defined()))
  BilinearImpl(int64_t in1_features, int64_t in2_features, int64_t out_features, bool bias = true);
  /// x1: [..., in1], x2: [..., in2] with the same leading dims -> [..., out].
  Tensor forward(const Tensor& x1, const Tensor& x2);
  void reset_parameters();
  std::string name() const override { return "Bilinear"; }
  std::string extra_repr() const override;

  int64_t in1_features, in2_features, out_features;
  Tensor weight;
  Tensor bias;
};
KILN_MODULE(Bilinear);

/// Returns its input unchanged (a placeholder layer).
class IdentityImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<IdentityImpl>())
  IdentityImpl() = default;
  Tensor forward(const Tensor& x) { return x; }
  std::string name() const override { return "Identity"; }
};
KILN_MODULE(Identity);

/// Flattens dims start_dim..end_dim into one (by default everything but the batch dim).
class FlattenImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<FlattenImpl>(start_dim, end_dim))
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  explicit FlattenImpl(const FlattenOptions& o) : FlattenImpl(o.start_dim(), o.end_dim()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;

  int64_t start_dim, end_dim;
};
KILN_MODULE(Flatten);
}  // namespace kiln::nn
