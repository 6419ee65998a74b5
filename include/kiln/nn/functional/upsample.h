// nn::functional::interpolate: nearest and bilinear resizing of [N, C, H, W] images (torch.nn.functional.interpolate).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/tensor/tensor.h"

namespace kiln::nn {

/// How interpolate fills the new pixels: the nearest source pixel (PyTorch's 'nearest': floor(dst * scale)),
/// or a weighted mean of the four nearest (bilinear).
enum class InterpolateMode { Nearest, Bilinear };
constexpr InterpolateMode kNearest = InterpolateMode::Nearest;
constexpr InterpolateMode kBilinear = InterpolateMode::Bilinear;
/// "nearest" or "bilinear", as PyTorch spells the mode.
const char* interpolate_mode_name(InterpolateMode mode);

namespace functional {
/// libtorch's InterpolateFuncOptions: exactly one of size ([oH, oW], or one number for both) and scale_factor
/// (one per spatial dim, or one for both); align_corners only for bilinear (false when unset, as PyTorch).
class InterpolateFuncOptions {
 public:
#define KILN_INTERP_ARG(T, name) \
  InterpolateFuncOptions& name(const T& v) { \
    name##_ = v;                             \
    return *this;                            \
  }                                          \
  const T& name() const { return name##_; }
  KILN_INTERP_ARG(std::optional<std::vector<int64_t>>, size)
  KILN_INTERP_ARG(std::optional<std::vector<double>>, scale_factor)
  KILN_INTERP_ARG(InterpolateMode, mode)
  KILN_INTERP_ARG(std::optional<bool>, align_corners)
#undef KILN_INTERP_ARG

 private:
  std::optional<std::vector<int64_t>> size_;
  std::optional<std::vector<double>> scale_factor_;
  InterpolateMode mode_ = kNearest;
  std::optional<bool> align_corners_;
};

/// Resizes x [N, C, H, W] as torch.nn.functional.interpolate: output size floor(H * scale)
/// with scale_factor, and source coordinates computed from the given scale (1 / scale_factor) when one is
/// given, from in / out otherwise (recompute_scale_factor=None). Differentiable; composed of index_select,
/// so its CUDA backward is deterministic under set_deterministic(true), as the rest of kiln's scatters.
/// ValueError when neither or both of size and scale_factor are set, for a non-positive size or scale,
/// or align_corners with nearest; ShapeError for an input that is not 4-D.
Tensor interpolate(const Tensor& x, const InterpolateFuncOptions& options);
}  // namespace functional
}  // namespace kiln::nn
