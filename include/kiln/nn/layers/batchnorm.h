// Batch normalisation layers: BatchNorm1d and BatchNorm2d with running statistics as buffers.
#pragma once
#include <string>

#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// BatchNorm's settings (libtorch's BatchNormOptions).
struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
#define KILN_BN_ARG(type, name)            \
  BatchNormOptions& name(const type& v) {  \
    name##_ = v;                           \
    return *this;                          \
  }                                        \
  const type& name() const { return name##_; }
  KILN_BN_ARG(int64_t, num_features)
  KILN_BN_ARG(double, eps)
  KILN_BN_ARG(double, momentum)
  KILN_BN_ARG(bool, affine)
  KILN_BN_ARG(bool, track_running_stats)
#undef KILN_BN_ARG

 private:
  int64_t num_features_;
  double eps_ = 1e-5, momentum_ = 0.1;
  bool affine_ = true, track_running_stats_ = true;
};

/// torch.nn.BatchNorm*d: weight = ones and bias = zeros (when affine); buffers running_mean (zeros),
/// running_var (ones) and num_batches_tracked (int64 0) under PyTorch's names (when track_running_stats).
/// Training normalises with the batch's statistics and updates the running ones; eval() uses the running ones.
class BatchNormImplBase : public Module {
 public:
  BatchNormImplBase(BatchNormOptions options, int64_t input_dims_lo, int64_t input_dims_hi, const char* name);
  Tensor forward(const Tensor& x);
  void reset_parameters();
  /// Zeros the running mean and count, and sets the running variance to ones.
  void reset_running_stats();
  std::string name() const override { return name_; }
  std::string extra_repr() const override;

  BatchNormOptions options;
  Tensor weight, bias;
  Tensor running_mean, running_var, num_batches_tracked;

 private:
  int64_t dims_lo_, dims_hi_;
  std::string name_;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1dImpl : public BatchNormImplBase {
 public:
  KILN_CLONE_EMPTY(std::make_shared<BatchNorm1dImpl>(options))
  explicit BatchNorm1dImpl(BatchNormOptions options) : BatchNormImplBase(std::move(options), 2, 3, "BatchNorm1d") {}
};
KILN_MODULE(BatchNorm1d);

/// Over [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImplBase {
 public:
  KILN_CLONE_EMPTY(std::make_shared<BatchNorm2dImpl>(options))
  explicit BatchNorm2dImpl(BatchNormOptions options) : BatchNormImplBase(std::move(options), 4, 4, "BatchNorm2d") {}
};
KILN_MODULE(BatchNorm2d);
}  // namespace kiln::nn
