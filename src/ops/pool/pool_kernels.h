// Dispatch stubs of the pooling family (max, average, adaptive average over 2-D windows of contiguous NCHW or
// channels-last tensors) and the window arithmetic that every device shares.
#pragma once
#include <cmath>
#include <cstdint>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// One pooling: `planes` (N * C) input planes [h, w] pooled to [oh, ow]. Adaptive pooling ignores the kernel,
/// stride, padding and dilation and derives each window from the sizes. With channels_last the input, the output
/// and the indices are NHWC in memory: a plane's pixels lie `channels` elements apart.
struct PoolGeometry {
  int64_t planes = 0, channels = 1, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  bool count_include_pad = true;
  bool adaptive = false;
  bool channels_last = false;
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU)
};

/// The distance between neighbouring pixels of one plane: 1, or the channel count for channels-last.
KILN_HD int64_t pool_pixel_stride(const PoolGeometry& g) { return g.channels_last ? g.channels : 1; }
/// Where plane p (n * channels + c) starts in a tensor of `pixels` pixels per plane (the input's h * w or the
/// output's oh * ow).
KILN_HD int64_t pool_plane_start(const PoolGeometry& g, int64_t p, int64_t pixels) {
  return g.channels_last ? (p / g.channels) * pixels * g.channels + p % g.channels : p * pixels;
}

/// The input rows [begin, end) an average window covers along one dim, and the divisor's share of that dim:
/// PyTorch's rules (the padded extent counts when count_include_pad; adaptive windows split in floor/ceil).
struct PoolSpan {
  int64_t begin, end, count;
};
KILN_HD PoolSpan avg_span(int64_t o, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                                 bool adaptive, bool count_include_pad) {
  if (adaptive) {
    int64_t b = o * in / out, e = ((o + 1) * in + out - 1) / out;
    return {b, e, e - b};
  }
  int64_t b = o * stride - pad, e = b + k;
  if (e > in + pad) e = in + pad;
  int64_t padded = e - b;
  if (b < 0) b = 0;
  if (e > in) e = in;
  return {b, e, count_include_pad ? padded : e - b};
}

/// Whether every window lies inside the input (no padding, no dilation, no ceil_mode overhang): the CPU then
/// takes loops without bounds checks.
inline bool windows_inside(const PoolGeometry& g) {
  return g.pad_h == 0 && g.pad_w == 0 && g.dil_h == 1 && g.dil_w == 1 && (g.oh - 1) * g.stride_h + g.kh <= g.h &&
         (g.ow - 1) * g.stride_w + g.kw <= g.w;
}

/// Max pooling of output (oy, ox) of the plane xp: the maximum and its flat in-plane index (the first one;
/// NaN wins, as PyTorch), or -inf and -1 when the window is all padding.
template <typename T>
KILN_HD void max_window(const PoolGeometry& g, const T* xp, int64_t oy, int64_t ox, T& best_out, int64_t& arg_out) {
  T best = T(-INFINITY);
  int64_t arg = -1;
  for (int64_t i = 0; i < g.kh && best == best; ++i) {
    const int64_t iy = oy * g.stride_h - g.pad_h + i * g.dil_h;
    if (iy < 0 || iy >= g.h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ix = ox * g.stride_w - g.pad_w + j * g.dil_w;
      if (ix < 0 || ix >= g.w) continue;
      const T v = xp[(iy * g.w + ix) * pool_pixel_stride(g)];
      if (arg < 0 || v > best || v != v) {
        best = v;
        arg = iy * g.w + ix;
        if (v != v) break;
      }
    }
  }
  best_out = best;
  arg_out = arg;
}

/// The gradient of input pixel (iy, ix) of a max pooling: the sum of grad_y (plane gyp, indices ip, both with the
/// output's pixel stride) over the windows whose maximum it is. A gather, so every device adds in one fixed order (deterministic, no atomics).
/// Distinct kernel rows give distinct windows, so no window is counted twice.
template <typename T>
KILN_HD T max_grad_at(const PoolGeometry& g, const T* gyp, const int64_t* ip, int64_t iy, int64_t ix) {
  T s = T(0);
  const int64_t flat = iy * g.w + ix;
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t ty = iy + g.pad_h - i * g.dil_h;
    if (ty < 0 || ty % g.stride_h != 0 || ty / g.stride_h >= g.oh) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t tx = ix + g.pad_w - j * g.dil_w;
      if (tx < 0 || tx % g.stride_w != 0 || tx / g.stride_w >= g.ow) continue;
      const int64_t o = ((ty / g.stride_h) * g.ow + tx / g.stride_w) * pool_pixel_stride(g);
      if (ip[o] == flat) s += gyp[o];
    }
  }
  return s;
}

/// Average pooling of output (oy, ox) of the plane xp (0 for a window with no divisor).
template <typename T>
KILN_HD T avg_window(const PoolGeometry& g, const T* xp, int64_t oy, int64_t ox) {
  const PoolSpan sy = avg_span(oy, g.h, g.oh, g.kh, g.stride_h, g.pad_h, g.adaptive, g.count_include_pad);
  const PoolSpan sx = avg_span(ox, g.w, g.ow, g.kw, g.stride_w, g.pad_w, g.adaptive, g.count_include_pad);
  T s = T(0);
  for (int64_t iy = sy.begin; iy < sy.end; ++iy)
    for (int64_t ix = sx.begin; ix < sx.end; ++ix) s += xp[(iy * g.w + ix) * pool_pixel_stride(g)];
  const int64_t count = sy.count * sx.count;
  return count > 0 ? s / T(count) : T(0);
}

/// The outputs [lo, hi] along one dim whose windows may cover input row i (a superset: callers check with
/// avg_span).
KILN_HD void avg_candidates(int64_t i, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, bool adaptive,
                            int64_t& lo, int64_t& hi) {
  if (adaptive) {
    lo = i * out / in - 1;
    hi = (i + 1) * out / in + 1;
  } else {
    const int64_t t = i + pad - k + 1;  // the first window start that reaches i
    lo = t <= 0 ? 0 : (t + stride - 1) / stride;
    hi = (i + pad) / stride;
  }
  if (lo < 0) lo = 0;
  if (hi > out - 1) hi = out - 1;
}

/// The gradient of input pixel (iy, ix) of an average pooling: each covering window's grad_y over its divisor,
/// gathered in a fixed order.
template <typename T>
KILN_HD T avg_grad_at(const PoolGeometry& g, const T* gyp, int64_t iy, int64_t ix) {
  int64_t y0, y1, x0, x1;
  avg_candidates(iy, g.h, g.oh, g.kh, g.stride_h, g.pad_h, g.adaptive, y0, y1);
  avg_candidates(ix, g.w, g.ow, g.kw, g.stride_w, g.pad_w, g.adaptive, x0, x1);
  T s = T(0);
  for (int64_t oy = y0; oy <= y1; ++oy) {
    const PoolSpan sy = avg_span(oy, g.h, g.oh, g.kh, g.stride_h, g.pad_h, g.adaptive, g.count_include_pad);
    if (iy < sy.begin || iy >= sy.end) continue;
    for (int64_t ox = x0; ox <= x1; ++ox) {
      const PoolSpan sx = avg_span(ox, g.w, g.ow, g.kw, g.stride_w, g.pad_w, g.adaptive, g.count_include_pad);
      if (ix < sx.begin || ix >= sx.end || sy.count * sx.count <= 0) continue;
      s += gyp[(oy * g.ow + ox) * pool_pixel_stride(g)] / T(sy.count * sx.count);
    }
  }
  return s;
}

/// y [planes, oh, ow] and the flat in-plane index of each maximum (int64, -1 when a window is all padding).
KILN_DECLARE_DISPATCH(max_pool2d_forward_stub,
                      void (*)(const PoolGeometry&, const Tensor& x, Tensor& y, Tensor& indices));
/// grad_x (overwritten) from grad_y and the forward's indices.
KILN_DECLARE_DISPATCH(max_pool2d_backward_stub,
                      void (*)(const PoolGeometry&, const Tensor& grad_y, const Tensor& indices, Tensor& grad_x));
/// Average (or adaptive average) pooling: y = window mean.
KILN_DECLARE_DISPATCH(avg_pool2d_forward_stub, void (*)(const PoolGeometry&, const Tensor& x, Tensor& y));
/// grad_x (overwritten): each grad_y spread evenly over its window.
KILN_DECLARE_DISPATCH(avg_pool2d_backward_stub, void (*)(const PoolGeometry&, const Tensor& grad_y, Tensor& grad_x));
}  // namespace kiln::ops
