// ResidualBlock (ResNet's basic block): construction with torchvision's names, and its forward.
#include "kiln/nn/layers/residual.h"

#include "kiln/tensor/ops/pointwise.h"

namespace kiln::nn {

ResidualBlockImpl::ResidualBlockImpl(ResidualBlockOptions opts) : options(std::move(opts)) {
  const int64_t in = options.in_channels(), out = options.out_channels(), stride = options.stride();
  KILN_CHECK(in > 0 && out > 0, "ResidualBlock: in_channels and out_channels must be positive, got ", in, " and ", out);
  KILN_CHECK(stride > 0, "ResidualBlock: stride must be positive, got ", stride);
  // No conv bias: each conv feeds a BatchNorm, whose shift makes a bias redundant (torchvision's choice).
  conv1 = register_module("conv1", Conv2d(Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
  bn1 = register_module("bn1", BatchNorm2d(out));
  conv2 = register_module("conv2", Conv2d(Conv2dOptions(out, out, 3).padding(1).bias(false)));
  bn2 = register_module("bn2", BatchNorm2d(out));
  if (stride != 1 || in != out) {
    downsample = Sequential(Conv2d(Conv2dOptions(in, out, 1).stride(stride).bias(false)), BatchNorm2d(out));
    register_module("downsample", downsample);
  }
}

Tensor ResidualBlockImpl::forward(const Tensor& x) {
  // Each child reports its output, so a traced nn::summary shows the block's inside as well.
  auto step = [](auto& layer, const Tensor& in) {
    Tensor y = layer->forward(in);
    detail::note_output_shape(*layer, y);
    return y;
  };
  Tensor h = relu(step(bn1, step(conv1, x)));
  h = step(bn2, step(conv2, h));
  Tensor shortcut = downsample ? step(downsample, x) : x;
  return relu(add(h, shortcut));
}
}  // namespace kiln::nn
