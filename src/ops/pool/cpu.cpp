// CPU pooling kernels: one task per run of input planes on kiln's pool, float32 and float64, over the window
// functors that the CUDA kernels share (pool_kernels.h). Channels-last max pooling has its own loops over rows
// of channels (contiguous, so they vectorise); its other cases run the functors with the pixel stride.
#include <algorithm>
#include <climits>
#include <cstdint>

#include "backend/cpu/parallel.h"
#include "kiln/core/error.h"
#include "ops/pool/pool_kernels.h"

namespace kiln::ops {
namespace {

// Runs fn(plane) over all planes in parallel, with chunks of roughly kGrainSize touched elements.
template <typename F>
void for_planes(const PoolGeometry& g, const F& fn) {
  const int64_t per_plane = std::max<int64_t>(1, g.h * g.w + g.oh * g.ow);
  cpu::parallel_for(0, g.planes, std::max<int64_t>(1, cpu::kGrainSize / per_plane), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) fn(p);
  });
}

// Whether v replaces the maximum so far, without a branch: larger, or the first NaN (NaN wins, as PyTorch; once
// the maximum is NaN nothing replaces it). Branches here mispredict on every other pixel of random data.
template <typename T>
inline bool replaces(T v, T best) {
  return (v > best) | ((v != v) & (best == best));
}

// Windows inside the input: no bounds checks, the first element seeds the maximum; the same rule as max_window
// (the first maximum; NaN wins). The sizes are copied to locals: the int64 index stores could otherwise alias g's
// fields, forcing a reload of every size after each output.
template <typename T>
void max_plane_inside(const PoolGeometry& g, const T* xp, T* yp, int64_t* ip) {
  const int64_t w = g.w, oh = g.oh, ow = g.ow, kh = g.kh, kw = g.kw, sh = g.stride_h, sw = g.stride_w;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t base = oy * sh * w + ox * sw;
      T best = xp[base];
      int64_t arg = base;
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t at = base + i * w + j;
          const bool r = replaces(xp[at], best);
          best = r ? xp[at] : best;
          arg = r ? at : arg;
        }
      yp[oy * ow + ox] = best;
      ip[oy * ow + ox] = arg;
    }
}

// The common 2x2, stride 2 window (MaxPool2d(2)), unrolled.
template <typename T>
void max_plane_2x2(const PoolGeometry& g, const T* xp, T* yp, int64_t* ip) {
  const int64_t w = g.w, oh = g.oh, ow = g.ow;
  for (int64_t oy = 0; oy < oh; ++oy) {
    const T* r0 = xp + 2 * oy * w;
    const T* r1 = r0 + w;
    T* y = yp + oy * ow;
    int64_t* id = ip + oy * ow;
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t at = 2 * oy * w + 2 * ox;
      T best = r0[2 * ox];
      int64_t arg = at;
      bool r = replaces(r0[2 * ox + 1], best);
      best = r ? r0[2 * ox + 1] : best;
      arg = r ? at + 1 : arg;
      r = replaces(r1[2 * ox], best);
      best = r ? r1[2 * ox] : best;
      arg = r ? at + w : arg;
      r = replaces(r1[2 * ox + 1], best);
      best = r ? r1[2 * ox + 1] : best;
      arg = r ? at + w + 1 : arg;
      y[ox] = best;
      id[ox] = arg;
    }
  }
}

// Channels-last with every window inside the input: per output pixel, the window's pixels are compared over a
// chunk of channels at once, in the order max_window takes them (the first maximum; NaN wins). The running maximum
// and the winner's offset in the window (int32, the floats' lane width) live in local arrays, which nothing else
// can alias, so the loops vectorise; the flat indices are written once at the end.
template <typename T>
void max_forward_rows(const PoolGeometry& g, const T* xd, T* yd, int64_t* id) {
  constexpr int64_t kChunk = 64;
  const int64_t C = g.channels, w = g.w, hw = g.h * g.w, oh = g.oh, ow = g.ow, kh = g.kh, kw = g.kw;
  const int64_t rows = g.planes / C * oh;  // (n, oy) pairs
  cpu::parallel_for(0, rows, std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(1, ow * C * kh * kw)),
                    [&](int64_t b, int64_t e) {
                      T best[kChunk];
                      int32_t rel[kChunk];
                      for (int64_t row = b; row < e; ++row) {
                        const int64_t n = row / oh, oy = row % oh;
                        for (int64_t ox = 0; ox < ow; ++ox) {
                          const int64_t base = oy * g.stride_h * w + ox * g.stride_w;
                          for (int64_t c0 = 0; c0 < C; c0 += kChunk) {
                            const int64_t cn = std::min(kChunk, C - c0);
                            const T* x0 = xd + (n * hw + base) * C + c0;
                            for (int64_t c = 0; c < cn; ++c) {
                              best[c] = x0[c];
                              rel[c] = 0;
                            }
                            for (int64_t i = 0; i < kh; ++i)
                              for (int64_t j = i == 0 ? 1 : 0; j < kw; ++j) {
                                const int32_t off = static_cast<int32_t>(i * w + j);
                                const T* xp = x0 + off * C;
                                for (int64_t c = 0; c < cn; ++c) {
                                  const bool r = replaces(xp[c], best[c]);
                                  best[c] = r ? xp[c] : best[c];
                                  rel[c] = r ? off : rel[c];
                                }
                              }
                            T* y = yd + (row * ow + ox) * C + c0;
                            int64_t* ix = id + (row * ow + ox) * C + c0;
                            for (int64_t c = 0; c < cn; ++c) {
                              y[c] = best[c];
                              ix[c] = base + rel[c];
                            }
                          }
                        }
                      }
                    });
}

template <typename T>
void max_forward(const PoolGeometry& g, const Tensor& x, Tensor& y, Tensor& indices) {
  const T* xd = x.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  int64_t* id = indices.data_ptr<int64_t>();
  const bool inside = windows_inside(g);
  // (the window offsets are int32 there; a plane of 2^31 pixels takes the general loop)
  if (g.channels_last && inside && g.h * g.w < INT32_MAX) return max_forward_rows(g, xd, yd, id);
  const bool two_by_two = inside && g.kh == 2 && g.kw == 2 && g.stride_h == 2 && g.stride_w == 2;
  const int64_t ps = pool_pixel_stride(g);
  for_planes(g, [&](int64_t p) {
    const T* xp = xd + pool_plane_start(g, p, g.h * g.w);
    T* yp = yd + pool_plane_start(g, p, g.oh * g.ow);
    int64_t* ip = id + pool_plane_start(g, p, g.oh * g.ow);
    if (two_by_two && ps == 1) return max_plane_2x2(g, xp, yp, ip);
    if (inside && ps == 1) return max_plane_inside(g, xp, yp, ip);
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t o = (oy * g.ow + ox) * ps;
        max_window(g, xp, oy, ox, yp[o], ip[o]);
      }
  });
}

// Windows that do not overlap (stride at least the dilated kernel) scatter each output's gradient to its
// maximum, one add per output; overlapping ones gather per input pixel (max_grad_at, the GPU's math).
template <typename T>
void max_backward(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices, Tensor& grad_x) {
  const T* gyd = grad_y.data_ptr<T>();
  const int64_t* id = indices.data_ptr<int64_t>();
  T* gxd = grad_x.data_ptr<T>();
  const bool disjoint = g.stride_h >= g.dil_h * (g.kh - 1) + 1 && g.stride_w >= g.dil_w * (g.kw - 1) + 1;
  if (g.channels_last && disjoint) {  // one image per task: zero it, then add each output's gradient at its maximum
    const int64_t C = g.channels, hw = g.h * g.w, ohw = g.oh * g.ow;
    cpu::parallel_for(0, g.planes / C, 1, [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; ++n) {
        T* gxn = gxd + n * hw * C;
        std::fill(gxn, gxn + hw * C, T(0));
        for (int64_t o = 0; o < ohw; ++o) {
          const T* gy = gyd + (n * ohw + o) * C;
          const int64_t* ix = id + (n * ohw + o) * C;
          for (int64_t c = 0; c < C; ++c)
            if (ix[c] >= 0) gxn[ix[c] * C + c] += gy[c];
        }
      }
    });
    return;
  }
  const int64_t ps = pool_pixel_stride(g);
  for_planes(g, [&](int64_t p) {
    T* gxp = gxd + pool_plane_start(g, p, g.h * g.w);
    const T* gyp = gyd + pool_plane_start(g, p, g.oh * g.ow);
    const int64_t* ip = id + pool_plane_start(g, p, g.oh * g.ow);
    if (ps != 1) {  // channels-last, overlapping windows: the gather
      for (int64_t iy = 0; iy < g.h; ++iy)
        for (int64_t ix = 0; ix < g.w; ++ix) gxp[(iy * g.w + ix) * ps] = max_grad_at(g, gyp, ip, iy, ix);
      return;
    }
    if (disjoint) {
      std::fill(gxp, gxp + g.h * g.w, T(0));
      for (int64_t o = 0; o < g.oh * g.ow; ++o)
        if (ip[o] >= 0) gxp[ip[o]] += gyp[o];
      return;
    }
    for (int64_t iy = 0; iy < g.h; ++iy)
      for (int64_t ix = 0; ix < g.w; ++ix) gxp[iy * g.w + ix] = max_grad_at(g, gyp, ip, iy, ix);
  });
}

template <typename T>
void avg_forward(const PoolGeometry& g, const Tensor& x, Tensor& y) {
  const T* xd = x.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  const int64_t ps = pool_pixel_stride(g);
  for_planes(g, [&](int64_t p) {
    const T* xp = xd + pool_plane_start(g, p, g.h * g.w);
    T* yp = yd + pool_plane_start(g, p, g.oh * g.ow);
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) yp[(oy * g.ow + ox) * ps] = avg_window(g, xp, oy, ox);
  });
}

template <typename T>
void avg_backward(const PoolGeometry& g, const Tensor& grad_y, Tensor& grad_x) {
  const T* gyd = grad_y.data_ptr<T>();
  T* gxd = grad_x.data_ptr<T>();
  const int64_t ps = pool_pixel_stride(g);
  for_planes(g, [&](int64_t p) {
    T* gxp = gxd + pool_plane_start(g, p, g.h * g.w);
    const T* gyp = gyd + pool_plane_start(g, p, g.oh * g.ow);
    for (int64_t iy = 0; iy < g.h; ++iy)
      for (int64_t ix = 0; ix < g.w; ++ix) gxp[(iy * g.w + ix) * ps] = avg_grad_at(g, gyp, iy, ix);
  });
}

// float32 or float64: the front end has already refused other dtypes.
void max_forward_cpu(const PoolGeometry& g, const Tensor& x, Tensor& y, Tensor& i) {
  if (g.dtype == kFloat64) max_forward<double>(g, x, y, i);
  else max_forward<float>(g, x, y, i);
}
void max_backward_cpu(const PoolGeometry& g, const Tensor& gy, const Tensor& i, Tensor& gx) {
  if (g.dtype == kFloat64) max_backward<double>(g, gy, i, gx);
  else max_backward<float>(g, gy, i, gx);
}
void avg_forward_cpu(const PoolGeometry& g, const Tensor& x, Tensor& y) {
  if (g.dtype == kFloat64) avg_forward<double>(g, x, y);
  else avg_forward<float>(g, x, y);
}
void avg_backward_cpu(const PoolGeometry& g, const Tensor& gy, Tensor& gx) {
  if (g.dtype == kFloat64) avg_backward<double>(g, gy, gx);
  else avg_backward<float>(g, gy, gx);
}
}  // namespace

KILN_REGISTER_KERNEL(max_pool2d_forward_stub, kCPU, max_forward_cpu);
KILN_REGISTER_KERNEL(max_pool2d_backward_stub, kCPU, max_backward_cpu);
KILN_REGISTER_KERNEL(avg_pool2d_forward_stub, kCPU, avg_forward_cpu);
KILN_REGISTER_KERNEL(avg_pool2d_backward_stub, kCPU, avg_backward_cpu);
}  // namespace kiln::ops
