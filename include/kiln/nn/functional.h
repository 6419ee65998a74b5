// nn::functional: stateless layer functions and losses, composed from the public differentiable tensor ops.
#pragma once
#include <optional>
#include <string>

#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln::nn {

/// How a loss reduces its per-element values: torch's reduction='none' | 'mean' | 'sum'.
enum class Reduction { None, Mean, Sum };
}  // namespace kiln::nn
namespace kiln {
/// libtorch's spellings of the reductions: F::mse_loss(x, y, kSum).
constexpr nn::Reduction kNone = nn::Reduction::None, kMean = nn::Reduction::Mean, kSum = nn::Reduction::Sum;
}  // namespace kiln
namespace kiln::nn {
/// Parses "none", "mean", "sum"; throws ValueError naming the accepted values otherwise.
Reduction parse_reduction(const std::string& s);
const char* reduction_name(Reduction r);

/// A loss's reduction argument: Reduction::Sum or the torch spelling "sum".
struct ReductionArg {
  Reduction value;
  ReductionArg(Reduction r) : value(r) {}  // NOLINT: implicit on purpose
  ReductionArg(const char* s) : value(parse_reduction(s)) {}
  ReductionArg(const std::string& s) : value(parse_reduction(s)) {}
  operator Reduction() const { return value; }
};

/// Use as libtorch: `namespace F = kiln::nn::functional;` then `F::cross_entropy(logits, labels)`.
namespace functional {

// ---- layers ----
/// x @ weight^T + bias. x: [..., in], weight: [out, in], bias: [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
/// y[..., o] = sum_ij x1[..., i] weight[o, i, j] x2[..., j] + bias[o].
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias = Tensor());
/// Rows of weight picked by integer indices: out shape = indices.shape + [dim]. The row padding_idx
/// (negative counts from the end) gets no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
/// Inverted dropout: in training each element is zeroed with probability p and the rest scaled by 1/(1-p);
/// identity otherwise. p outside [0, 1] throws ValueError.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);
/// Normalises over the trailing dims given by normalized_shape, then applies weight and bias if defined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
Tensor flatten(const Tensor& x, int64_t start_dim = 1, int64_t end_dim = -1);

// ---- activations ----
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// approximate: "none" (exact, erf) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor silu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- losses ----
// Input and target must have the same shape (no silent broadcasting) unless stated; a mismatch throws
// ShapeError naming both shapes. The result is 0-dim for Mean/Sum and input-shaped for None.

/// (input - target)^2.
Tensor mse_loss(const Tensor& input, const Tensor& target, ReductionArg reduction = Reduction::Mean);
/// |input - target|.
Tensor l1_loss(const Tensor& input, const Tensor& target, ReductionArg reduction = Reduction::Mean);
/// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (Huber / beta). beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, ReductionArg reduction = Reduction::Mean,
                      double beta = 1.0);
/// Negative log likelihood of log-probabilities input [N, C] / [N, C, d...] / [C] at class indices
/// target [N] / [N, d...] / [] (int64 or int32). Targets equal to ignore_index contribute nothing; Mean
/// divides by the summed weights of the non-ignored targets (torch semantics). A target outside [0, C)
/// throws IndexError naming it and C.
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                ReductionArg reduction = Reduction::Mean);
/// log_softmax over the class dim (1, or 0 for a 1-D input) followed by nll_loss, computed once and
/// gathered (no one-hot). target: class indices (int64, shape of input without the class dim) or
/// class probabilities (floating, input's shape). label_smoothing in [0, 1] mixes the target with the
/// uniform distribution. Float targets shaped like class indices throw DTypeError.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, ReductionArg reduction = Reduction::Mean,
                     double label_smoothing = 0.0);
/// -w (t log x + (1 - t) log(1 - x)) with each log clamped at -100 like torch. Input must lie in [0, 1]
/// (ValueError otherwise; checking costs a device sync). weight broadcasts to the input's shape.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            ReductionArg reduction = Reduction::Mean);
/// Sigmoid + binary cross entropy in the numerically stable form. pos_weight (broadcast along the last
/// dim, usually [C]) weighs the positive term.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        ReductionArg reduction = Reduction::Mean, const Tensor& pos_weight = Tensor());

/// Applies a reduction to per-element loss values.
Tensor apply_reduction(const Tensor& loss, Reduction reduction);
}  // namespace functional
}  // namespace kiln::nn


// The options (F::CrossEntropyFuncOptions, nn::MSELossOptions, ...) and the functional forms that take them come
// with the functions, as in libtorch. options.h includes this file first, so either order works.
#include "kiln/nn/options.h"
