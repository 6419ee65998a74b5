// Dropout layer.
#include "kiln/nn/layers/dropout.h"

#include <sstream>

#include "kiln/nn/functional.h"

namespace kiln::nn {

DropoutImpl::DropoutImpl(double p) : p(p) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor DropoutImpl::forward(const Tensor& x) { return functional::dropout(x, p, is_training()); }

std::string DropoutImpl::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p;
  return os.str();
}
}  // namespace kiln::nn
