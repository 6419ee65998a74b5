// libtorch's F::...FuncOptions for kiln's functional losses and activations:
// F::cross_entropy(x, y, F::CrossEntropyFuncOptions().label_smoothing(0.1).reduction(kSum)).
#pragma once
#include <optional>
#include <string>

#include "kiln/nn/functional.h"

namespace kiln::nn::functional {

// One builder setter and getter per option, as libtorch's TORCH_ARG.
#define KILN_FUNC_ARG(Options, T, name) \
 public:                                \
  Options& name(const T& v) {           \
    name##_ = v;                        \
    return *this;                       \
  }                                     \
  const T& name() const { return name##_; }

class MSELossFuncOptions {
  KILN_FUNC_ARG(MSELossFuncOptions, Reduction, reduction)
 private:
  Reduction reduction_ = Reduction::Mean;
};
class L1LossFuncOptions {
  KILN_FUNC_ARG(L1LossFuncOptions, Reduction, reduction)
 private:
  Reduction reduction_ = Reduction::Mean;
};
class SmoothL1LossFuncOptions {
  KILN_FUNC_ARG(SmoothL1LossFuncOptions, Reduction, reduction)
  KILN_FUNC_ARG(SmoothL1LossFuncOptions, double, beta)
 private:
  Reduction reduction_ = Reduction::Mean;
  double beta_ = 1.0;
};
class NLLLossFuncOptions {
  KILN_FUNC_ARG(NLLLossFuncOptions, Tensor, weight)
  KILN_FUNC_ARG(NLLLossFuncOptions, int64_t, ignore_index)
  KILN_FUNC_ARG(NLLLossFuncOptions, Reduction, reduction)
 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
};
class CrossEntropyFuncOptions {
  KILN_FUNC_ARG(CrossEntropyFuncOptions, Tensor, weight)
  KILN_FUNC_ARG(CrossEntropyFuncOptions, int64_t, ignore_index)
  KILN_FUNC_ARG(CrossEntropyFuncOptions, Reduction, reduction)
  KILN_FUNC_ARG(CrossEntropyFuncOptions, double, label_smoothing)
 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
  double label_smoothing_ = 0.0;
};
class BinaryCrossEntropyFuncOptions {
  KILN_FUNC_ARG(BinaryCrossEntropyFuncOptions, Tensor, weight)
  KILN_FUNC_ARG(BinaryCrossEntropyFuncOptions, Reduction, reduction)
 private:
  Tensor weight_;
  Reduction reduction_ = Reduction::Mean;
};
class BinaryCrossEntropyWithLogitsFuncOptions {
  KILN_FUNC_ARG(BinaryCrossEntropyWithLogitsFuncOptions, Tensor, weight)
  KILN_FUNC_ARG(BinaryCrossEntropyWithLogitsFuncOptions, Reduction, reduction)
  KILN_FUNC_ARG(BinaryCrossEntropyWithLogitsFuncOptions, Tensor, pos_weight)
 private:
  Tensor weight_;
  Reduction reduction_ = Reduction::Mean;
  Tensor pos_weight_;
};
class LeakyReLUFuncOptions {
  KILN_FUNC_ARG(LeakyReLUFuncOptions, double, negative_slope)
 private:
  double negative_slope_ = 0.01;
};
class GELUFuncOptions {
  KILN_FUNC_ARG(GELUFuncOptions, std::string, approximate)
 private:
  std::string approximate_ = "none";
};
class SoftmaxFuncOptions {
 public:
  SoftmaxFuncOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as libtorch
  KILN_FUNC_ARG(SoftmaxFuncOptions, int64_t, dim)
 private:
  int64_t dim_;
};
class LogSoftmaxFuncOptions {
 public:
  LogSoftmaxFuncOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as libtorch
  KILN_FUNC_ARG(LogSoftmaxFuncOptions, int64_t, dim)
 private:
  int64_t dim_;
};
class DropoutFuncOptions {
  KILN_FUNC_ARG(DropoutFuncOptions, double, p)
  KILN_FUNC_ARG(DropoutFuncOptions, bool, training)
 private:
  double p_ = 0.5;
  bool training_ = true;
};
class LayerNormFuncOptions {
 public:
  LayerNormFuncOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  KILN_FUNC_ARG(LayerNormFuncOptions, Shape, normalized_shape)
  KILN_FUNC_ARG(LayerNormFuncOptions, Tensor, weight)
  KILN_FUNC_ARG(LayerNormFuncOptions, Tensor, bias)
  KILN_FUNC_ARG(LayerNormFuncOptions, double, eps)
 private:
  Shape normalized_shape_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};
class EmbeddingFuncOptions {
  KILN_FUNC_ARG(EmbeddingFuncOptions, std::optional<int64_t>, padding_idx)
 private:
  std::optional<int64_t> padding_idx_;
};
#undef KILN_FUNC_ARG

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
}  // namespace kiln::nn::functional
