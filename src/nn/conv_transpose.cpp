// ConvTranspose2d layer: parameters, PyTorch's initialisation and printing.
#include "kiln/nn/layers/conv_transpose.h"

#include <cmath>
#include <sstream>

#include "kiln/nn/init.h"
#include "kiln/tensor/ops/creation.h"
#include "nn/python_repr.h"

namespace kiln::nn {
namespace {
std::string tuple2(const ExpandingArray<2>& a) { return detail::py_tuple({a[0], a[1]}); }
}  // namespace

ConvTranspose2dImpl::ConvTranspose2dImpl(ConvTranspose2dOptions opts) : options(std::move(opts)) {
  const int64_t in = options.in_channels(), out = options.out_channels(), groups = options.groups();
  KILN_CHECK(in > 0 && out > 0, "ConvTranspose2d: in_channels and out_channels must be positive, got ", in, " and ",
             out);
  KILN_CHECK(groups > 0, "ConvTranspose2d: groups must be positive, got ", groups);
  KILN_CHECK(in % groups == 0 && out % groups == 0, "ConvTranspose2d: groups=", groups, " must divide in_channels (",
             in, ") and out_channels (", out, ")");
  for (int i = 0; i < 2; ++i)
    KILN_CHECK(options.kernel_size()[i] > 0, "ConvTranspose2d: kernel_size must be positive, got ",
               tuple2(options.kernel_size()));
  // The transposed layout: [in, out / groups, kH, kW], as torch.
  weight = register_parameter("weight", empty({in, out / groups, options.kernel_size()[0], options.kernel_size()[1]}));
  if (options.bias()) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

void ConvTranspose2dImpl::reset_parameters() {
  // torch's _ConvNd.reset_parameters; fan_in is weight.size(1) * kH * kW, i.e. out / groups * kH * kW here.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(weight.numel() / weight.size(0)));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor ConvTranspose2dImpl::forward(const Tensor& x) {
  return functional::conv_transpose2d(x, weight, bias, options.stride(), options.padding(), options.output_padding(),
                                      options.groups(), options.dilation());
}

std::string ConvTranspose2dImpl::extra_repr() const {
  // torch's _ConvNd.extra_repr: the settings that differ from the defaults, in its order.
  std::ostringstream os;
  os << options.in_channels() << ", " << options.out_channels() << ", kernel_size=" << tuple2(options.kernel_size())
     << ", stride=" << tuple2(options.stride());
  if (!(options.padding() == ExpandingArray<2>(0))) os << ", padding=" << tuple2(options.padding());
  if (!(options.dilation() == ExpandingArray<2>(1))) os << ", dilation=" << tuple2(options.dilation());
  if (!(options.output_padding() == ExpandingArray<2>(0))) os << ", output_padding=" << tuple2(options.output_padding());
  if (options.groups() != 1) os << ", groups=" << options.groups();
  if (!options.bias()) os << ", bias=False";
  return os.str();
}
}  // namespace kiln::nn
