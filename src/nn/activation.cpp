// Activation layers.
#include "kiln/nn/layers/activation.h"

#include <sstream>

#include "kiln/nn/functional.h"
#include "nn/python_repr.h"

namespace kiln::nn {

Tensor ReLUImpl::forward(const Tensor& x) { return functional::relu(x); }

Tensor LeakyReLUImpl::forward(const Tensor& x) { return functional::leaky_relu(x, negative_slope); }
std::string LeakyReLUImpl::extra_repr() const {
  return "negative_slope=" + detail::py_float(negative_slope);
}

GELUImpl::GELUImpl(std::string approx) : approximate(std::move(approx)) {
  KILN_CHECK(approximate == "none" || approximate == "tanh", "GELU: approximate must be 'none' or 'tanh', got '",
             approximate, "'");
}
Tensor GELUImpl::forward(const Tensor& x) { return functional::gelu(x, approximate); }
std::string GELUImpl::extra_repr() const { return "approximate='" + approximate + "'"; }

Tensor SiLUImpl::forward(const Tensor& x) { return functional::silu(x); }
Tensor TanhImpl::forward(const Tensor& x) { return functional::tanh(x); }
Tensor SigmoidImpl::forward(const Tensor& x) { return functional::sigmoid(x); }

Tensor SoftmaxImpl::forward(const Tensor& x) { return functional::softmax(x, dim); }
std::string SoftmaxImpl::extra_repr() const { return "dim=" + std::to_string(dim); }

Tensor LogSoftmaxImpl::forward(const Tensor& x) { return functional::log_softmax(x, dim); }
std::string LogSoftmaxImpl::extra_repr() const { return "dim=" + std::to_string(dim); }
}  // namespace kiln::nn
