// F::interpolate (nearest, bilinear) composed of index_select and weights: the 2-D resize is separable, so
// each axis is one gather (nearest) or a weighted sum of two gathers (bilinear). Its backward is
// index_select's (an ordered scatter-add under set_deterministic(true) on CUDA), with no kernel of its own.
#include "kiln/nn/functional/upsample.h"

#include <cmath>

#include "kiln/core/error.h"
#include "kiln/tensor/ops.h"

namespace kiln::nn {

const char* interpolate_mode_name(InterpolateMode mode) {
  return mode == InterpolateMode::Nearest ? "nearest" : "bilinear";
}

namespace functional {
namespace {
// One axis's sampling plan: output i reads inputs i0[i] and i1[i] with weights w0[i] and w1[i].
struct AxisPlan {
  std::vector<int64_t> i0, i1;
  std::vector<double> w0, w1;
};

// PyTorch's compute_scales_value: the given scale (1 / scale_factor) when there is one, else in / out.
// T is the type PyTorch computes source indices in (float for float32 and below, double for float64),
// which decides where floor() lands for scales like 1/3.
template <typename T>
T scale_value(std::optional<double> scale_factor, int64_t in, int64_t out) {
  return scale_factor && *scale_factor > 0 ? static_cast<T>(1.0 / *scale_factor)
                                           : static_cast<T>(in) / static_cast<T>(out);
}

// PyTorch computes nearest indices in float for every dtype (floorf(i * scale)).
AxisPlan nearest_plan(int64_t in, int64_t out, std::optional<double> scale_factor) {
  AxisPlan p;
  const float scale = scale_value<float>(scale_factor, in, out);
  for (int64_t i = 0; i < out; ++i) {
    // UpSampleKernel's nearest_idx: exact shortcuts for the same size and for doubling, floor(i * scale) else.
    int64_t src = out == in ? i : out == 2 * in ? i >> 1 : static_cast<int64_t>(std::floor(static_cast<float>(i) * scale));
    p.i0.push_back(std::min(src, in - 1));
  }
  return p;
}

template <typename T>
AxisPlan bilinear_plan(int64_t in, int64_t out, std::optional<double> scale_factor, bool align_corners) {
  AxisPlan p;
  const T scale = align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0))
                                : scale_value<T>(scale_factor, in, out);
  for (int64_t i = 0; i < out; ++i) {
    // area_pixel_compute_source_index: corners map to corners, or pixel centres to centres (clamped at 0).
    const T src = align_corners ? scale * static_cast<T>(i)
                                : std::max(scale * (static_cast<T>(i) + T(0.5)) - T(0.5), T(0));
    const int64_t i0 = static_cast<int64_t>(src);
    const T lambda1 = src - static_cast<T>(i0);
    p.i0.push_back(i0);
    p.i1.push_back(i0 < in - 1 ? i0 + 1 : i0);
    p.w0.push_back(static_cast<double>(T(1) - lambda1));
    p.w1.push_back(static_cast<double>(lambda1));
  }
  return p;
}

// Resamples x along dim (2 or 3 of [N, C, H, W]) by the plan.
Tensor resample_axis(const Tensor& x, int64_t dim, const AxisPlan& p, bool bilinear) {
  const int64_t out = static_cast<int64_t>(p.i0.size());
  const TensorOptions index_opts = TensorOptions(kInt64).device(x.device());
  Tensor a = index_select(x, dim, tensor(p.i0, {out}, index_opts));
  if (!bilinear) return a;
  Shape wshape = dim == 2 ? Shape{out, 1} : Shape{out};  // broadcast over the trailing dims
  const TensorOptions w_opts = TensorOptions(x.dtype()).device(x.device());
  Tensor b = index_select(x, dim, tensor(p.i1, {out}, index_opts));
  return add(mul(a, tensor(p.w0, wshape, w_opts)), mul(b, tensor(p.w1, wshape, w_opts)));
}

template <typename T>
std::vector<T> two(const std::vector<T>& v, const char* what) {
  KILN_CHECK(v.size() == 1 || v.size() == 2, "interpolate: ", what, " needs one value or two (height, width) for a ",
             "4-D input, got ", v.size());
  return v.size() == 1 ? std::vector<T>{v[0], v[0]} : v;
}
}  // namespace

Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& o) {
  KILN_CHECK(input.defined(), "interpolate: input is an undefined tensor");
  KILN_CHECK_SHAPE(input.dim() == 4, "interpolate: expected a 4-D input [N, C, H, W] (nearest and bilinear resize "
                   "H and W; unsqueeze(0) a single image), got ", input.shape_str());
  KILN_CHECK_DTYPE(input.is_floating_point(), "interpolate: input must be a floating-point tensor, got ",
                   input.dtype());
  KILN_CHECK(o.size().has_value() != o.scale_factor().has_value(),
             "interpolate: set exactly one of size and scale_factor (", o.size() ? "both" : "neither", " given)");
  const bool bilinear = o.mode() == InterpolateMode::Bilinear;
  KILN_CHECK(bilinear || !o.align_corners().has_value(),
             "interpolate: align_corners can only be set with the interpolating modes (bilinear), not nearest");
  const bool align_corners = o.align_corners().value_or(false);
  const int64_t in[2] = {input.size(2), input.size(3)};
  int64_t out[2];
  std::optional<double> scale[2];
  if (o.size()) {
    std::vector<int64_t> s = two(*o.size(), "size");
    for (int i = 0; i < 2; ++i) out[i] = s[static_cast<size_t>(i)];
  } else {
    std::vector<double> f = two(*o.scale_factor(), "scale_factor");
    for (int i = 0; i < 2; ++i) {
      KILN_CHECK(std::isfinite(f[i]) && f[i] > 0, "interpolate: scale_factor must be positive and finite, got ", f[i]);
      scale[i] = f[i];
      out[i] = static_cast<int64_t>(std::floor(static_cast<double>(in[i]) * f[i]));
    }
  }
  KILN_CHECK(out[0] > 0 && out[1] > 0 && in[0] > 0 && in[1] > 0, "interpolate: input and output sizes should be ",
             "greater than 0, got input ", input.shape_str(), " and output (", out[0], ", ", out[1], ")");
  // Reduced precision computes in float32, as PyTorch's opmath; float64 keeps double source coordinates.
  const DType out_dtype = input.dtype();
  const DType compute = is_reduced_float(out_dtype) ? kFloat32 : out_dtype;
  Tensor y = input.to(compute);
  // Width first, then height: the order of PyTorch's sums (h0 * (w0 * a + w1 * b) + h1 * (...)).
  for (int axis : {1, 0}) {
    if (out[axis] == in[axis]) continue;  // PyTorch copies an axis whose size does not change
    AxisPlan plan;
    if (!bilinear) plan = nearest_plan(in[axis], out[axis], scale[axis]);
    else if (compute == kFloat64) plan = bilinear_plan<double>(in[axis], out[axis], scale[axis], align_corners);
    else plan = bilinear_plan<float>(in[axis], out[axis], scale[axis], align_corners);
    y = resample_axis(y, 2 + axis, plan, bilinear);
  }
  return y.to(out_dtype);
}
}  // namespace functional
}  // namespace kiln::nn
