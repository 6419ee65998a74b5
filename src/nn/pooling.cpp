// MaxPool2d, AvgPool2d and AdaptiveAvgPool2d layers.
#include "kiln/nn/layers/pooling.h"

#include <sstream>

namespace kiln::nn {
namespace {
// torch prints a pooling size as an int when both dims agree (kernel_size=2) and as a tuple otherwise.
std::string size_str(const ExpandingArray<2>& a) {
  if (a[0] == a[1]) return std::to_string(a[0]);
  return "(" + std::to_string(a[0]) + ", " + std::to_string(a[1]) + ")";
}
const char* py_bool(bool b) { return b ? "True" : "False"; }
}  // namespace

Tensor MaxPool2dImpl::forward(const Tensor& x) {
  return functional::max_pool2d(x, options.kernel_size(), options.stride(), options.padding(), options.dilation(),
                                options.ceil_mode());
}
std::string MaxPool2dImpl::extra_repr() const {
  std::ostringstream os;
  os << "kernel_size=" << size_str(options.kernel_size()) << ", stride=" << size_str(options.stride())
     << ", padding=" << size_str(options.padding()) << ", dilation=" << size_str(options.dilation())
     << ", ceil_mode=" << py_bool(options.ceil_mode());
  return os.str();
}

Tensor AvgPool2dImpl::forward(const Tensor& x) {
  return functional::avg_pool2d(x, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode(),
                                options.count_include_pad());
}
std::string AvgPool2dImpl::extra_repr() const {
  std::ostringstream os;
  os << "kernel_size=" << size_str(options.kernel_size()) << ", stride=" << size_str(options.stride())
     << ", padding=" << size_str(options.padding());
  return os.str();
}

Tensor AdaptiveAvgPool2dImpl::forward(const Tensor& x) { return functional::adaptive_avg_pool2d(x, output_size); }
std::string AdaptiveAvgPool2dImpl::extra_repr() const { return "output_size=" + size_str(output_size); }
}  // namespace kiln::nn
