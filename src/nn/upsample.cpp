// Upsample layer: F::interpolate with the options given at construction, printed as PyTorch.
#include "kiln/nn/layers/upsample.h"

#include "nn/python_repr.h"

namespace kiln::nn {

UpsampleImpl::UpsampleImpl(UpsampleOptions o) : options(std::move(o)) {
  KILN_CHECK(options.size().has_value() != options.scale_factor().has_value(),
             "Upsample: set exactly one of size and scale_factor");
  KILN_CHECK(options.mode() == kBilinear || !options.align_corners().has_value(),
             "Upsample: align_corners can only be set with the interpolating modes (bilinear), not nearest");
}

Tensor UpsampleImpl::forward(const Tensor& x) { return functional::interpolate(x, options); }

std::string UpsampleImpl::extra_repr() const {
  // torch.nn.Upsample.extra_repr: one number prints as a number, several as a tuple; factors as floats.
  std::string info;
  if (options.scale_factor()) {
    const std::vector<double>& f = *options.scale_factor();
    info = "scale_factor=";
    if (f.size() == 1) {
      info += detail::py_float(f[0]);
    } else {
      info += "(";
      for (size_t i = 0; i < f.size(); ++i) info += (i ? ", " : "") + detail::py_float(f[i]);
      info += ")";
    }
  } else {
    const std::vector<int64_t>& s = *options.size();
    info = "size=" + (s.size() == 1 ? std::to_string(s[0]) : detail::py_tuple(s));
  }
  return info + ", mode='" + interpolate_mode_name(options.mode()) + "'";
}
}  // namespace kiln::nn
