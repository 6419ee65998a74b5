// Convolution layers: Conv1d and Conv2d with libtorch's options (nn::Conv2dOptions(1, 32, 3).padding(1)).
#pragma once
#include <string>

#include "kiln/nn/functional/conv.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// The settings of a D-dimensional convolution layer, chained as libtorch's ConvOptions.
template <size_t D>
class ConvOptions {
 public:
  ConvOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
#define KILN_CONV_ARG(type, name)              \
  ConvOptions& name(const type& v) {           \
    name##_ = v;                               \
    return *this;                              \
  }                                            \
  const type& name() const { return name##_; }
  KILN_CONV_ARG(int64_t, in_channels)
  KILN_CONV_ARG(int64_t, out_channels)
  KILN_CONV_ARG(ExpandingArray<D>, kernel_size)
  KILN_CONV_ARG(ExpandingArray<D>, stride)
  KILN_CONV_ARG(ConvPadding<D>, padding)
  KILN_CONV_ARG(ExpandingArray<D>, dilation)
  KILN_CONV_ARG(int64_t, groups)
  KILN_CONV_ARG(bool, bias)
#undef KILN_CONV_ARG

 private:
  int64_t in_channels_, out_channels_;
  ExpandingArray<D> kernel_size_;
  ExpandingArray<D> stride_ = 1;
  ConvPadding<D> padding_ = 0;
  ExpandingArray<D> dilation_ = 1;
  int64_t groups_ = 1;
  bool bias_ = true;
};
using Conv1dOptions = ConvOptions<1>;
using Conv2dOptions = ConvOptions<2>;

/// The shared part of Conv1d and Conv2d: parameters, PyTorch's initialisation and printing.
/// weight [out, in / groups, k...] ~ kaiming_uniform_(a = sqrt(5)); bias [out] ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
template <size_t D>
class ConvNdImpl : public Module {
 public:
  explicit ConvNdImpl(ConvOptions<D> options);
  void reset_parameters();
  std::string extra_repr() const override;

  ConvOptions<D> options;
  Tensor weight;
  Tensor bias;  ///< undefined when options.bias(false)
};

/// torch.nn.Conv1d: x [N, C_in, L] -> [N, C_out, L_out].
class Conv1dImpl : public ConvNdImpl<1> {
 public:
  KILN_CLONE_EMPTY(std::make_shared<Conv1dImpl>(options))
  explicit Conv1dImpl(Conv1dOptions options) : ConvNdImpl<1>(std::move(options)) {}
  Conv1dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<1> kernel_size)
      : Conv1dImpl(Conv1dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Conv1d"; }
};
KILN_MODULE(Conv1d);

/// torch.nn.Conv2d: x [N, C_in, H, W] -> [N, C_out, H_out, W_out].
class Conv2dImpl : public ConvNdImpl<2> {
 public:
  KILN_CLONE_EMPTY(std::make_shared<Conv2dImpl>(options))
  explicit Conv2dImpl(Conv2dOptions options) : ConvNdImpl<2>(std::move(options)) {}
  Conv2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  std::string name() const override { return "Conv2d"; }
};
KILN_MODULE(Conv2d);
}  // namespace kiln::nn
