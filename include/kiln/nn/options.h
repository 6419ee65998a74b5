// libtorch's module options for kiln's layers and losses: nn::Dropout(nn::DropoutOptions(0.2)),
// nn::CrossEntropyLoss(nn::CrossEntropyLossOptions().label_smoothing(0.1)), ... The loss options are also
// the functional ones (F::CrossEntropyFuncOptions is nn::CrossEntropyLossOptions, as in libtorch).
#pragma once
#include <optional>
#include <string>

#include "kiln/nn/functional.h"

namespace kiln::nn {

// One builder setter and getter per option, as libtorch's TORCH_ARG.
#define KILN_NN_ARG(Options, T, name) \
 public:                              \
  Options& name(const T& v) {         \
    name##_ = v;                      \
    return *this;                     \
  }                                   \
  const T& name() const { return name##_; }

// ---- layers ----
class DropoutOptions {
 public:
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as libtorch
  KILN_NN_ARG(DropoutOptions, double, p)
 private:
  double p_;
};
class EmbeddingOptions {
 public:
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  KILN_NN_ARG(EmbeddingOptions, int64_t, num_embeddings)
  KILN_NN_ARG(EmbeddingOptions, int64_t, embedding_dim)
  KILN_NN_ARG(EmbeddingOptions, std::optional<int64_t>, padding_idx)
 private:
  int64_t num_embeddings_, embedding_dim_;
  std::optional<int64_t> padding_idx_;
};
class LayerNormOptions {
 public:
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  KILN_NN_ARG(LayerNormOptions, Shape, normalized_shape)
  KILN_NN_ARG(LayerNormOptions, double, eps)
  KILN_NN_ARG(LayerNormOptions, bool, elementwise_affine)
 private:
  Shape normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
};
class FlattenOptions {
  KILN_NN_ARG(FlattenOptions, int64_t, start_dim)
  KILN_NN_ARG(FlattenOptions, int64_t, end_dim)
 private:
  int64_t start_dim_ = 1, end_dim_ = -1;
};

// ---- activations (also F::LeakyReLUFuncOptions, ...) ----
class LeakyReLUOptions {
  KILN_NN_ARG(LeakyReLUOptions, double, negative_slope)
 private:
  double negative_slope_ = 0.01;
};
class GELUOptions {
  KILN_NN_ARG(GELUOptions, std::string, approximate)
 private:
  std::string approximate_ = "none";
};
class SoftmaxOptions {
 public:
  SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as libtorch
  KILN_NN_ARG(SoftmaxOptions, int64_t, dim)
 private:
  int64_t dim_;
};
class LogSoftmaxOptions {
 public:
  LogSoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as libtorch
  KILN_NN_ARG(LogSoftmaxOptions, int64_t, dim)
 private:
  int64_t dim_;
};

// ---- losses (also F::MSELossFuncOptions, ...) ----
class MSELossOptions {
 public:
  MSELossOptions() = default;
  explicit MSELossOptions(Reduction reduction) : reduction_(reduction) {}
  KILN_NN_ARG(MSELossOptions, Reduction, reduction)
 private:
  Reduction reduction_ = Reduction::Mean;
};
class L1LossOptions {
 public:
  L1LossOptions() = default;
  explicit L1LossOptions(Reduction reduction) : reduction_(reduction) {}
  KILN_NN_ARG(L1LossOptions, Reduction, reduction)
 private:
  Reduction reduction_ = Reduction::Mean;
};
class SmoothL1LossOptions {
 public:
  SmoothL1LossOptions() = default;
  explicit SmoothL1LossOptions(Reduction reduction) : reduction_(reduction) {}
  KILN_NN_ARG(SmoothL1LossOptions, Reduction, reduction)
  KILN_NN_ARG(SmoothL1LossOptions, double, beta)
 private:
  Reduction reduction_ = Reduction::Mean;
  double beta_ = 1.0;
};
class NLLLossOptions {
  KILN_NN_ARG(NLLLossOptions, Tensor, weight)
  KILN_NN_ARG(NLLLossOptions, int64_t, ignore_index)
  KILN_NN_ARG(NLLLossOptions, Reduction, reduction)
 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
};
class CrossEntropyLossOptions {
  KILN_NN_ARG(CrossEntropyLossOptions, Tensor, weight)
  KILN_NN_ARG(CrossEntropyLossOptions, int64_t, ignore_index)
  KILN_NN_ARG(CrossEntropyLossOptions, Reduction, reduction)
  KILN_NN_ARG(CrossEntropyLossOptions, double, label_smoothing)
 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
  double label_smoothing_ = 0.0;
};
class BCELossOptions {
  KILN_NN_ARG(BCELossOptions, Tensor, weight)
  KILN_NN_ARG(BCELossOptions, Reduction, reduction)
 private:
  Tensor weight_;
  Reduction reduction_ = Reduction::Mean;
};
class BCEWithLogitsLossOptions {
  KILN_NN_ARG(BCEWithLogitsLossOptions, Tensor, weight)
  KILN_NN_ARG(BCEWithLogitsLossOptions, Reduction, reduction)
  KILN_NN_ARG(BCEWithLogitsLossOptions, Tensor, pos_weight)
 private:
  Tensor weight_;
  Reduction reduction_ = Reduction::Mean;
  Tensor pos_weight_;
};

// ---- what only the functional forms take ----
namespace functional {
class DropoutFuncOptions {
  KILN_NN_ARG(DropoutFuncOptions, double, p)
  KILN_NN_ARG(DropoutFuncOptions, bool, training)
 private:
  double p_ = 0.5;
  bool training_ = true;
};
class LayerNormFuncOptions {
 public:
  LayerNormFuncOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  KILN_NN_ARG(LayerNormFuncOptions, Shape, normalized_shape)
  KILN_NN_ARG(LayerNormFuncOptions, Tensor, weight)
  KILN_NN_ARG(LayerNormFuncOptions, Tensor, bias)
  KILN_NN_ARG(LayerNormFuncOptions, double, eps)
 private:
  Shape normalized_shape_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};
class EmbeddingFuncOptions {
  KILN_NN_ARG(EmbeddingFuncOptions, std::optional<int64_t>, padding_idx)
 private:
  std::optional<int64_t> padding_idx_;
};

using MSELossFuncOptions = MSELossOptions;
using L1LossFuncOptions = L1LossOptions;
using SmoothL1LossFuncOptions = SmoothL1LossOptions;
using NLLLossFuncOptions = NLLLossOptions;
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using BinaryCrossEntropyFuncOptions = BCELossOptions;
using BinaryCrossEntropyWithLogitsFuncOptions = BCEWithLogitsLossOptions;
using LeakyReLUFuncOptions = LeakyReLUOptions;
using GELUFuncOptions = GELUOptions;
using SoftmaxFuncOptions = SoftmaxOptions;
using LogSoftmaxFuncOptions = LogSoftmaxOptions;

// The functional forms with options: F::cross_entropy(x, y, F::CrossEntropyFuncOptions().label_smoothing(0.1)).
inline Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& o) {
  return mse_loss(input, target, o.reduction());
}
inline Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& o) {
  return l1_loss(input, target, o.reduction());
}
inline Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& o) {
  return smooth_l1_loss(input, target, o.reduction(), o.beta());
}
inline Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& o) {
  return nll_loss(input, target, o.weight(), o.ignore_index(), o.reduction());
}
inline Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& o) {
  return cross_entropy(input, target, o.weight(), o.ignore_index(), o.reduction(), o.label_smoothing());
}
inline Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& o) {
  return binary_cross_entropy(input, target, o.weight(), o.reduction());
}
inline Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                               const BinaryCrossEntropyWithLogitsFuncOptions& o) {
  return binary_cross_entropy_with_logits(input, target, o.weight(), o.reduction(), o.pos_weight());
}
inline Tensor leaky_relu(const Tensor& x, const LeakyReLUFuncOptions& o) { return leaky_relu(x, o.negative_slope()); }
inline Tensor gelu(const Tensor& x, const GELUFuncOptions& o) { return gelu(x, o.approximate()); }
inline Tensor softmax(const Tensor& x, const SoftmaxFuncOptions& o) { return softmax(x, o.dim()); }
inline Tensor log_softmax(const Tensor& x, const LogSoftmaxFuncOptions& o) { return log_softmax(x, o.dim()); }
inline Tensor dropout(const Tensor& x, const DropoutFuncOptions& o) { return dropout(x, o.p(), o.training()); }
inline Tensor layer_norm(const Tensor& x, const LayerNormFuncOptions& o) {
  return layer_norm(x, o.normalized_shape(), o.weight(), o.bias(), o.eps());
}
inline Tensor embedding(const Tensor& indices, const Tensor& weight, const EmbeddingFuncOptions& o) {
  return embedding(indices, weight, o.padding_idx());
}
}  // namespace functional
#undef KILN_NN_ARG
}  // namespace kiln::nn

namespace kiln {
/// libtorch's ATen spellings of the functional losses and dropout, as in its MNIST example:
/// torch::nll_loss(output, target), torch::dropout(x, 0.5, is_training()). Arguments past the first two follow
/// kiln's functional order (nn/functional.h).
using nn::functional::binary_cross_entropy;
using nn::functional::dropout;
using nn::functional::l1_loss;
using nn::functional::mse_loss;
using nn::functional::nll_loss;
using nn::functional::smooth_l1_loss;
}  // namespace kiln
