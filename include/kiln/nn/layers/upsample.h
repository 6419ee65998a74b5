// Upsample: a layer around F::interpolate (torch.nn.Upsample).
#pragma once
#include <string>

#include "kiln/nn/functional/upsample.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// torch.nn.Upsample's settings: size or scale_factor (exactly one), mode, align_corners.
using UpsampleOptions = functional::InterpolateFuncOptions;

/// torch.nn.Upsample: x [N, C, H, W] -> resized by F::interpolate with the options given at construction
/// (checked there, so a bad combination fails when the layer is made).
class UpsampleImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<UpsampleImpl>(options))
  explicit UpsampleImpl(UpsampleOptions options = UpsampleOptions().scale_factor(std::vector<double>{1.0}));
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Upsample"; }
  /// As PyTorch: "scale_factor=2.0, mode='nearest'" or "size=(14, 14), mode='bilinear'".
  std::string extra_repr() const override;

  UpsampleOptions options;
};
KILN_MODULE(Upsample);
}  // namespace kiln::nn
