// Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (torch.nn's, with libtorch's options).
#pragma once
#include <string>

#include "kiln/nn/functional/conv.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// MaxPool2d's settings; stride defaults to kernel_size.
struct MaxPool2dOptions {
  MaxPool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
#define KILN_POOL_ARG(cls, type, name) \
  cls& name(const type& v) {           \
    name##_ = v;                       \
    return *this;                      \
  }                                    \
  const type& name() const { return name##_; }
  KILN_POOL_ARG(MaxPool2dOptions, ExpandingArray<2>, kernel_size)
  KILN_POOL_ARG(MaxPool2dOptions, ExpandingArray<2>, stride)
  KILN_POOL_ARG(MaxPool2dOptions, ExpandingArray<2>, padding)
  KILN_POOL_ARG(MaxPool2dOptions, ExpandingArray<2>, dilation)
  KILN_POOL_ARG(MaxPool2dOptions, bool, ceil_mode)

 private:
  ExpandingArray<2> kernel_size_, stride_, padding_ = 0, dilation_ = 1;
  bool ceil_mode_ = false;
};

/// AvgPool2d's settings; stride defaults to kernel_size.
struct AvgPool2dOptions {
  AvgPool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  KILN_POOL_ARG(AvgPool2dOptions, ExpandingArray<2>, kernel_size)
  KILN_POOL_ARG(AvgPool2dOptions, ExpandingArray<2>, stride)
  KILN_POOL_ARG(AvgPool2dOptions, ExpandingArray<2>, padding)
  KILN_POOL_ARG(AvgPool2dOptions, bool, ceil_mode)
  KILN_POOL_ARG(AvgPool2dOptions, bool, count_include_pad)
#undef KILN_POOL_ARG

 private:
  ExpandingArray<2> kernel_size_, stride_, padding_ = 0;
  bool ceil_mode_ = false, count_include_pad_ = true;
};

/// torch.nn.MaxPool2d.
class MaxPool2dImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<MaxPool2dImpl>(options))
  explicit MaxPool2dImpl(MaxPool2dOptions options) : options(std::move(options)) {}
  explicit MaxPool2dImpl(ExpandingArray<2> kernel_size) : options(kernel_size) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  MaxPool2dOptions options;
};
KILN_MODULE(MaxPool2d);

/// torch.nn.AvgPool2d.
class AvgPool2dImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<AvgPool2dImpl>(options))
  explicit AvgPool2dImpl(AvgPool2dOptions options) : options(std::move(options)) {}
  explicit AvgPool2dImpl(ExpandingArray<2> kernel_size) : options(kernel_size) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  AvgPool2dOptions options;
};
KILN_MODULE(AvgPool2d);

/// torch.nn.AdaptiveAvgPool2d: any [N, C, H, W] -> [N, C, output_size].
class AdaptiveAvgPool2dImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<AdaptiveAvgPool2dImpl>(output_size))
  explicit AdaptiveAvgPool2dImpl(ExpandingArray<2> output_size) : output_size(output_size) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  ExpandingArray<2> output_size;
};
KILN_MODULE(AdaptiveAvgPool2d);
}  // namespace kiln::nn
