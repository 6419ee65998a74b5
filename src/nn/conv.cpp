// Conv1d and Conv2d layers: parameters, PyTorch's initialisation and printing.
#include "kiln/nn/layers/conv.h"

#include <cmath>
#include <sstream>

#include "kiln/nn/init.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::nn {
namespace {
// PyTorch prints sizes as tuples: (3, 3), or (3,) for one dim.
template <size_t D>
std::string tuple_str(const ExpandingArray<D>& a) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < D; ++i) os << (i ? ", " : "") << a[i];
  os << (D == 1 ? ",)" : ")");
  return os.str();
}
}  // namespace

template <size_t D>
ConvNdImpl<D>::ConvNdImpl(ConvOptions<D> opts) : options(std::move(opts)) {
  const int64_t in = options.in_channels(), out = options.out_channels(), groups = options.groups();
  KILN_CHECK(in > 0 && out > 0, name(), ": in_channels and out_channels must be positive, got ", in, " and ", out);
  KILN_CHECK(groups > 0, name(), ": groups must be positive, got ", groups);
  KILN_CHECK(in % groups == 0 && out % groups == 0, name(), ": groups=", groups,
             " must divide in_channels (", in, ") and out_channels (", out, ")");
  Shape shape{out, in / groups};
  for (size_t i = 0; i < D; ++i) {
    KILN_CHECK(options.kernel_size()[i] > 0, name(), ": kernel_size must be positive, got ",
               tuple_str(options.kernel_size()));
    shape.push_back(options.kernel_size()[i]);
  }
  weight = register_parameter("weight", empty(shape));
  if (options.bias()) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

template <size_t D>
void ConvNdImpl<D>::reset_parameters() {
  // torch.nn.modules.conv._ConvNd.reset_parameters.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = weight.numel() / weight.size(0);
    init::uniform_(bias, -1.0 / std::sqrt(static_cast<double>(fan_in)), 1.0 / std::sqrt(static_cast<double>(fan_in)));
  }
}

template <size_t D>
std::string ConvNdImpl<D>::extra_repr() const {
  // torch's _ConvNd.extra_repr: the settings that differ from the defaults.
  std::ostringstream os;
  os << options.in_channels() << ", " << options.out_channels() << ", kernel_size=" << tuple_str(options.kernel_size())
     << ", stride=" << tuple_str(options.stride());
  const ConvPadding<D>& pad = options.padding();
  if (pad.same) os << ", padding=same";
  else if (!(pad.size == ExpandingArray<D>(0))) os << ", padding=" << tuple_str(pad.size);
  if (!(options.dilation() == ExpandingArray<D>(1))) os << ", dilation=" << tuple_str(options.dilation());
  if (options.groups() != 1) os << ", groups=" << options.groups();
  if (!options.bias()) os << ", bias=False";
  return os.str();
}

template class ConvNdImpl<1>;
template class ConvNdImpl<2>;

Tensor Conv1dImpl::forward(const Tensor& x) {
  return functional::conv1d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups());
}

Tensor Conv2dImpl::forward(const Tensor& x) {
  return functional::conv2d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups());
}
}  // namespace kiln::nn
