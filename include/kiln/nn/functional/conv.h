// nn::functional for images: convolution, pooling, normalisation and channel dropout (F::conv2d, F::max_pool2d, ...).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln::nn {

/// D sizes given as one number for every spatial dim or one per dim: libtorch's ExpandingArray<D>
/// (`3` and `{3, 3}` are the same kernel size).
template <size_t D>
class ExpandingArray {
 public:
  ExpandingArray(int64_t v) { values_.fill(v); }  // NOLINT: implicit on purpose
  ExpandingArray(std::initializer_list<int64_t> list) : ExpandingArray(std::vector<int64_t>(list)) {}
  ExpandingArray(const std::vector<int64_t>& list) {  // NOLINT
    KILN_CHECK(list.size() == D || list.size() == 1, "expected ", D, " sizes (or one for all), got ", list.size());
    for (size_t i = 0; i < D; ++i) values_[i] = list.size() == 1 ? list[0] : list[i];
  }
  int64_t operator[](size_t i) const { return values_[i]; }
  const std::array<int64_t, D>& values() const { return values_; }
  bool operator==(const ExpandingArray& o) const { return values_ == o.values_; }

 private:
  std::array<int64_t, D> values_;
};

/// A convolution's padding: explicit sizes, or "valid" (none) / "same" (the output keeps the input's size;
/// stride 1 only, an odd total goes to the end, as PyTorch).
template <size_t D>
struct ConvPadding {
  ExpandingArray<D> size = 0;
  bool same = false;
  /// A template so that a literal 0 is a size, not a null `const char*`.
  template <typename I, std::enable_if_t<std::is_integral<I>::value, int> = 0>
  ConvPadding(I v) : size(static_cast<int64_t>(v)) {}  // NOLINT: implicit on purpose
  ConvPadding(std::initializer_list<int64_t> list) : size(list) {}
  ConvPadding(const ExpandingArray<D>& s) : size(s) {}  // NOLINT
  ConvPadding(const char* mode) : ConvPadding(std::string(mode)) {}  // NOLINT
  ConvPadding(const std::string& mode) {  // NOLINT
    KILN_CHECK(mode == "same" || mode == "valid", "padding: expected sizes, \"same\" or \"valid\", got \"", mode, "\"");
    same = mode == "same";
  }
};

namespace functional {

/// 2-D convolution (torch.nn.functional.conv2d). x: [N, C_in, H, W] (or [C_in, H, W]); weight:
/// [C_out, C_in / groups, kH, kW]; bias: [C_out] or undefined. float32 (oneDNN on the CPU, cuDNN on CUDA) and
/// float64 (an im2col path on the CPU). ShapeError for a wrong channel count, groups that do not divide the
/// channels, or a kernel larger than the padded input; ValueError for non-positive stride or dilation.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), ExpandingArray<2> stride = 1,
              ConvPadding<2> padding = 0, ExpandingArray<2> dilation = 1, int64_t groups = 1);
/// 1-D convolution: x [N, C_in, L] (or [C_in, L]), weight [C_out, C_in / groups, k]; computed as conv2d.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), ExpandingArray<1> stride = 1,
              ConvPadding<1> padding = 0, ExpandingArray<1> dilation = 1, int64_t groups = 1);

/// Transposed 2-D convolution (torch.nn.functional.conv_transpose2d), the gradient of conv2d with respect to its
/// input: x [N, C_in, H, W] (or [C_in, H, W]); weight [C_in, C_out / groups, kH, kW]; bias [C_out] or undefined.
/// Output [N, C_out, (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1, ...].
/// output_padding must be smaller than stride or dilation (ValueError otherwise), as PyTorch.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        ExpandingArray<2> stride = 1, ExpandingArray<2> padding = 0,
                        ExpandingArray<2> output_padding = 0, int64_t groups = 1, ExpandingArray<2> dilation = 1);

/// Max pooling over [N, C, H, W] (or [C, H, W]) windows; stride 0 (the default) means kernel_size, as
/// PyTorch's stride=None. Padding is at most half the kernel and pads with -inf.
Tensor max_pool2d(const Tensor& x, ExpandingArray<2> kernel_size, ExpandingArray<2> stride = 0,
                  ExpandingArray<2> padding = 0, ExpandingArray<2> dilation = 1, bool ceil_mode = false);
/// max_pool2d and, for each output, the flat index (h * W + w) of its maximum in the input plane (int64).
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, ExpandingArray<2> kernel_size,
                                                   ExpandingArray<2> stride = 0, ExpandingArray<2> padding = 0,
                                                   ExpandingArray<2> dilation = 1, bool ceil_mode = false);
/// Average pooling; count_include_pad counts the zero padding in the divisor (PyTorch's default).
Tensor avg_pool2d(const Tensor& x, ExpandingArray<2> kernel_size, ExpandingArray<2> stride = 0,
                  ExpandingArray<2> padding = 0, bool ceil_mode = false, bool count_include_pad = true);
/// Average pooling to a fixed output size [oH, oW]: window i spans [floor(i*H/oH), ceil((i+1)*H/oH)).
Tensor adaptive_avg_pool2d(const Tensor& x, ExpandingArray<2> output_size);

/// Batch normalisation over dim 1 of x [N, C, ...] (torch.nn.functional.batch_norm). Training: normalises
/// with the batch's mean and biased variance, and (when defined) updates running_mean/var in place with
/// momentum, the variance unbiased as PyTorch. Eval: normalises with the running statistics (which must then
/// be defined). weight and bias [C] are optional.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), bool training = false, double momentum = 0.1, double eps = 1e-5);

/// Group normalisation (torch.nn.functional.group_norm): x [N, C, ...] is split into num_groups groups of
/// C / num_groups channels; each (sample, group) is normalised with its own mean and biased variance, then
/// scaled by weight [C] and shifted by bias [C] (each optional). The same in training and eval (no running
/// statistics). ShapeError when num_groups does not divide C; f16/bf16 compute in float32.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

/// Channel dropout (torch.nn.functional.dropout2d): in training each channel of x [N, C, H, W] (or [C, H, W])
/// is zeroed as a whole with probability p and the kept ones scaled by 1/(1-p); identity when !training.
/// ValueError for p outside [0, 1]; ShapeError for an input that is not 3-D or 4-D.
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);
}  // namespace functional
}  // namespace kiln::nn
