// Linear, Bilinear and Flatten layers.
#include "kiln/nn/layers/linear.h"

#include <cmath>
#include <sstream>

#include "kiln/nn/functional.h"
#include "nn/python_repr.h"
#include "kiln/nn/init.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::nn {
namespace {
using detail::py_bool;
}  // namespace

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias)
    : in_features(in_features), out_features(out_features) {
  KILN_CHECK(in_features >= 0 && out_features >= 0, "Linear: in_features and out_features must be non-negative, got ",
             in_features, " and ", out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  // torch.nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& x) { return functional::linear(x, weight, bias); }

std::string LinearImpl::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << in_features << ", out_features=" << out_features << ", bias=" << py_bool(bias.defined());
  return os.str();
}

BilinearImpl::BilinearImpl(int64_t in1_features, int64_t in2_features, int64_t out_features, bool with_bias)
    : in1_features(in1_features), in2_features(in2_features), out_features(out_features) {
  KILN_CHECK(in1_features >= 0 && in2_features >= 0 && out_features >= 0,
             "Bilinear: feature counts must be non-negative, got ", in1_features, ", ", in2_features, ", ",
             out_features);
  weight = register_parameter("weight", empty({out_features, in1_features, in2_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

void BilinearImpl::reset_parameters() {
  // torch.nn.Bilinear: everything U(-1/sqrt(in1), 1/sqrt(in1)).
  double bound = in1_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in1_features)) : 0.0;
  init::uniform_(weight, -bound, bound);
  if (bias.defined()) init::uniform_(bias, -bound, bound);
}

Tensor BilinearImpl::forward(const Tensor& x1, const Tensor& x2) { return functional::bilinear(x1, x2, weight, bias); }

std::string BilinearImpl::extra_repr() const {
  std::ostringstream os;
  os << "in1_features=" << in1_features << ", in2_features=" << in2_features << ", out_features=" << out_features
     << ", bias=" << py_bool(bias.defined());
  return os.str();
}

Tensor FlattenImpl::forward(const Tensor& x) { return functional::flatten(x, start_dim, end_dim); }

std::string FlattenImpl::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}
}  // namespace kiln::nn
