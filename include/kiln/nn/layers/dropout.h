// Dropout and Dropout2d: random zeroing (of elements, or of whole channels) in training mode, identity in eval mode.
#pragma once
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// torch.nn.Dropout: inverted dropout (kept elements scaled by 1/(1-p)) while is_training(), identity after
/// eval(). Masks come from the default generator. p outside [0, 1] throws ValueError.
class DropoutImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<DropoutImpl>(p))
  explicit DropoutImpl(double p = 0.5);
  explicit DropoutImpl(const DropoutOptions& o) : DropoutImpl(o.p()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;

  double p;
};
KILN_MODULE(Dropout);

/// torch.nn.Dropout2d: while is_training(), each channel of x [N, C, H, W] (or [C, H, W]) is zeroed as a whole
/// with probability p and the kept ones scaled by 1/(1-p) (F::dropout2d); identity after eval().
class Dropout2dImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<Dropout2dImpl>(p))
  explicit Dropout2dImpl(double p = 0.5);
  explicit Dropout2dImpl(const DropoutOptions& o) : Dropout2dImpl(o.p()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Dropout2d"; }
  std::string extra_repr() const override;

  double p;
};
KILN_MODULE(Dropout2d);
}  // namespace kiln::nn
