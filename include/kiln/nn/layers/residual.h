// ResidualBlock: ResNet's basic block (two 3x3 conv + BatchNorm, plus a shortcut), torchvision's BasicBlock.
#pragma once
#include <string>

#include "kiln/nn/container.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/layers/batchnorm.h"
#include "kiln/nn/layers/conv.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// A ResidualBlock's settings: nn::ResidualBlockOptions(64, 128).stride(2).
class ResidualBlockOptions {
 public:
  ResidualBlockOptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}
#define KILN_RES_ARG(type, name)               \
  ResidualBlockOptions& name(const type& v) {  \
    name##_ = v;                               \
    return *this;                              \
  }                                            \
  const type& name() const { return name##_; }
  KILN_RES_ARG(int64_t, in_channels)
  KILN_RES_ARG(int64_t, out_channels)
  KILN_RES_ARG(int64_t, stride)
#undef KILN_RES_ARG

 private:
  int64_t in_channels_, out_channels_;
  int64_t stride_ = 1;
};

/// ResNet's basic block, as torchvision.models.resnet.BasicBlock (He et al. 2015, option B shortcuts):
///   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
/// conv1 is 3x3 with the block's stride, conv2 3x3 stride 1 (both padding 1, no bias). The shortcut is the
/// identity when the shape is kept, otherwise `downsample`: a 1x1 conv with the stride and a BatchNorm.
/// x [N, in, H, W] -> [N, out, ceil(H / stride), ceil(W / stride)]. Parameter names follow torchvision
/// (conv1.weight, bn1.running_mean, downsample.0.weight, ...).
class ResidualBlockImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<ResidualBlockImpl>(options))
  explicit ResidualBlockImpl(ResidualBlockOptions options);
  ResidualBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride = 1)
      : ResidualBlockImpl(ResidualBlockOptions(in_channels, out_channels).stride(stride)) {}
  /// ShapeError (from conv1) when x's channels differ from in_channels.
  Tensor forward(const Tensor& x);
  std::string name() const override { return "ResidualBlock"; }

  ResidualBlockOptions options;
  Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  Sequential downsample{nullptr};  ///< empty (null) for an identity shortcut
};
KILN_MODULE(ResidualBlock);
}  // namespace kiln::nn
