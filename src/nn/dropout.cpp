// Dropout and Dropout2d layers.
#include "kiln/nn/layers/dropout.h"

#include <sstream>

#include "kiln/nn/functional.h"
#include "kiln/nn/functional/conv.h"
#include "nn/python_repr.h"

namespace kiln::nn {

DropoutImpl::DropoutImpl(double p) : p(p) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor DropoutImpl::forward(const Tensor& x) { return functional::dropout(x, p, is_training()); }

std::string DropoutImpl::extra_repr() const {
  return "p=" + detail::py_float(p) + ", inplace=False";  // kiln's dropout is never in place
}
}  // namespace kiln::nn

namespace kiln::nn {
Dropout2dImpl::Dropout2dImpl(double p) : p(p) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, "dropout2d probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout2dImpl::forward(const Tensor& x) { return functional::dropout2d(x, p, is_training()); }

std::string Dropout2dImpl::extra_repr() const { return "p=" + detail::py_float(p) + ", inplace=False"; }
}  // namespace kiln::nn
