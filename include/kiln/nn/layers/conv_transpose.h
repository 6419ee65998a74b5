// ConvTranspose2d: the transposed convolution layer with libtorch's options
// (nn::ConvTranspose2dOptions(64, 32, 3).stride(2).padding(1).output_padding(1)).
#pragma once
#include <string>

#include "kiln/nn/functional/conv.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// The settings of a transposed 2-D convolution, chained as libtorch's ConvTransposeOptions.
class ConvTranspose2dOptions {
 public:
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
#define KILN_CONVT_ARG(type, name)               \
  ConvTranspose2dOptions& name(const type& v) {  \
    name##_ = v;                                 \
    return *this;                                \
  }                                              \
  const type& name() const { return name##_; }
  KILN_CONVT_ARG(int64_t, in_channels)
  KILN_CONVT_ARG(int64_t, out_channels)
  KILN_CONVT_ARG(ExpandingArray<2>, kernel_size)
  KILN_CONVT_ARG(ExpandingArray<2>, stride)
  KILN_CONVT_ARG(ExpandingArray<2>, padding)
  KILN_CONVT_ARG(ExpandingArray<2>, output_padding)
  KILN_CONVT_ARG(int64_t, groups)
  KILN_CONVT_ARG(bool, bias)
  KILN_CONVT_ARG(ExpandingArray<2>, dilation)
#undef KILN_CONVT_ARG

 private:
  int64_t in_channels_, out_channels_;
  ExpandingArray<2> kernel_size_;
  ExpandingArray<2> stride_ = 1;
  ExpandingArray<2> padding_ = 0;
  ExpandingArray<2> output_padding_ = 0;
  int64_t groups_ = 1;
  bool bias_ = true;
  ExpandingArray<2> dilation_ = 1;
};

/// torch.nn.ConvTranspose2d: x [N, C_in, H, W] -> [N, C_out, H_out, W_out] (see F::conv_transpose2d).
/// weight [in, out / groups, kH, kW] ~ kaiming_uniform_(a = sqrt(5)); bias [out] ~ U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)) with fan_in = out / groups * kH * kW, as PyTorch.
class ConvTranspose2dImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<ConvTranspose2dImpl>(options))
  explicit ConvTranspose2dImpl(ConvTranspose2dOptions options);
  ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  void reset_parameters();
  std::string name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;

  ConvTranspose2dOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined when options.bias(false)
};
KILN_MODULE(ConvTranspose2d);
}  // namespace kiln::nn
