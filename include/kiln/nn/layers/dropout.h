// Dropout: random zeroing in training mode, identity in eval mode.
#pragma once
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"
#include "kiln/nn/options.h"

namespace kiln::nn {

/// torch.nn.Dropout: inverted dropout (kept elements scaled by 1/(1-p)) while is_training(), identity after
/// eval(). Masks come from the default generator. p outside [0, 1] throws ValueError.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  explicit DropoutImpl(const DropoutOptions& o) : DropoutImpl(o.p()) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;

  double p;
};
KILN_MODULE(Dropout);
}  // namespace kiln::nn
