// Activation layers: ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, Softmax, LogSoftmax.
#pragma once
#include <string>

#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// max(0, x).
class ReLUImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<ReLUImpl>())
  ReLUImpl() = default;
  Tensor forward(const Tensor& x);
  std::string name() const override { return "ReLU"; }
};
KILN_MODULE(ReLU);

/// max(0, x) + negative_slope * min(0, x).
class LeakyReLUImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<LeakyReLUImpl>(negative_slope))
  explicit LeakyReLUImpl(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  explicit LeakyReLUImpl(const LeakyReLUOptions& o) : LeakyReLUImpl(o.negative_slope()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  double negative_slope;
};
KILN_MODULE(LeakyReLU);

/// x * Phi(x); approximate = "none" (erf) or "tanh". Another value throws ValueError.
class GELUImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<GELUImpl>(approximate))
  explicit GELUImpl(std::string approximate = "none");
  explicit GELUImpl(const GELUOptions& o) : GELUImpl(o.approximate()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override;
  std::string approximate;
};
KILN_MODULE(GELU);

/// x * sigmoid(x) (swish).
class SiLUImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<SiLUImpl>())
  SiLUImpl() = default;
  Tensor forward(const Tensor& x);
  std::string name() const override { return "SiLU"; }
};
KILN_MODULE(SiLU);

/// Hyperbolic tangent.
class TanhImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<TanhImpl>())
  TanhImpl() = default;
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Tanh"; }
};
KILN_MODULE(Tanh);

/// 1 / (1 + exp(-x)).
class SigmoidImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<SigmoidImpl>())
  SigmoidImpl() = default;
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Sigmoid"; }
};
KILN_MODULE(Sigmoid);

/// Softmax along dim.
class SoftmaxImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<SoftmaxImpl>(dim))
  explicit SoftmaxImpl(int64_t dim) : dim(dim) {}
  explicit SoftmaxImpl(const SoftmaxOptions& o) : dim(o.dim()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override;
  int64_t dim;
};
KILN_MODULE(Softmax);

/// log(softmax(x)) along dim, computed stably.
class LogSoftmaxImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<LogSoftmaxImpl>(dim))
  explicit LogSoftmaxImpl(int64_t dim) : dim(dim) {}
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& o) : dim(o.dim()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override;
  int64_t dim;
};
KILN_MODULE(LogSoftmax);
}  // namespace kiln::nn
