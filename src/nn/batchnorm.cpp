// BatchNorm1d and BatchNorm2d layers: parameters, running-statistics buffers and the train/eval switch.
#include "kiln/nn/layers/batchnorm.h"

#include <sstream>

#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/nn/init.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::nn {

BatchNormImplBase::BatchNormImplBase(BatchNormOptions opts, int64_t dims_lo, int64_t dims_hi, const char* name)
    : options(std::move(opts)), dims_lo_(dims_lo), dims_hi_(dims_hi), name_(name) {
  const int64_t c = options.num_features();
  KILN_CHECK(c > 0, name_, ": num_features must be positive, got ", c);
  KILN_CHECK(options.eps() > 0, name_, ": eps must be positive, got ", options.eps());
  if (options.affine()) {
    weight = register_parameter("weight", empty({c}));
    bias = register_parameter("bias", empty({c}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, TensorOptions().dtype(kInt64)));
  }
  reset_parameters();
}

void BatchNormImplBase::reset_running_stats() {
  if (!options.track_running_stats()) return;
  NoGradGuard no_grad;
  running_mean.fill_(0);
  running_var.fill_(1);
  num_batches_tracked.fill_(0);
}

void BatchNormImplBase::reset_parameters() {
  reset_running_stats();
  if (!options.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNormImplBase::forward(const Tensor& x) {
  KILN_CHECK(x.defined(), name_, ": undefined input");
  KILN_CHECK_SHAPE(x.dim() >= dims_lo_ && x.dim() <= dims_hi_, name_, ": expected a ",
                   dims_lo_ == dims_hi_ ? std::to_string(dims_lo_) : std::to_string(dims_lo_) + "-D or " +
                                                                          std::to_string(dims_hi_),
                   "-D input, got ", x.shape_str());
  KILN_CHECK_SHAPE(x.size(1) == options.num_features(), name_, ": expected ", options.num_features(),
                   " channels (dim 1) but the input ", x.shape_str(), " has ", x.size(1));
  const bool use_batch_stats = is_training() || !options.track_running_stats();
  if (is_training() && options.track_running_stats()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(Scalar(1));
  }
  return functional::batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats,
                                is_training() ? options.momentum() : 0.0, options.eps());
}

std::string BatchNormImplBase::extra_repr() const {
  std::ostringstream os;
  os << options.num_features() << ", eps=" << options.eps() << ", momentum=" << options.momentum()
     << ", affine=" << (options.affine() ? "True" : "False")
     << ", track_running_stats=" << (options.track_running_stats() ? "True" : "False");
  return os.str();
}
}  // namespace kiln::nn
