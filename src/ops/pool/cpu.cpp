// CPU pooling kernels: one task per run of input planes on kiln's pool, float32 and float64.
#include <algorithm>
#include <cmath>
#include <limits>

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

template <typename T>
void max_forward(const PoolGeometry& g, const Tensor& x, Tensor& y, Tensor& indices) {
  const T* xd = x.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  int64_t* id = indices.data_ptr<int64_t>();
  for_planes(g, [&](int64_t p) {
    const T* xp = xd + p * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t arg = -1;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.stride_h - g.pad_h + i * g.dil_h;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t ix = ox * g.stride_w - g.pad_w + j * g.dil_w;
            if (ix < 0 || ix >= g.w) continue;
            const T v = xp[iy * g.w + ix];
            if (arg < 0 || v > best || std::isnan(v)) {  // NaN wins, as PyTorch
              best = v;
              arg = iy * g.w + ix;
              if (std::isnan(v)) break;
            }
          }
        }
        const int64_t o = p * g.oh * g.ow + oy * g.ow + ox;
        yd[o] = best;
        id[o] = arg;
      }
  });
}

template <typename T>
void max_backward(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices, Tensor& grad_x) {
  const T* gyd = grad_y.data_ptr<T>();
  const int64_t* id = indices.data_ptr<int64_t>();
  T* gxd = grad_x.data_ptr<T>();
  for_planes(g, [&](int64_t p) {
    T* gxp = gxd + p * g.h * g.w;
    std::fill(gxp, gxp + g.h * g.w, T(0));
    for (int64_t o = p * g.oh * g.ow, e = o + g.oh * g.ow; o < e; ++o)
      if (id[o] >= 0) gxp[id[o]] += gyd[o];
  });
}

template <typename T>
void avg_forward(const PoolGeometry& g, const Tensor& x, Tensor& y) {
  const T* xd = x.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  for_planes(g, [&](int64_t p) {
    const T* xp = xd + p * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const PoolSpan sy = avg_span(oy, g.h, g.oh, g.kh, g.stride_h, g.pad_h, g.adaptive, g.count_include_pad);
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const PoolSpan sx = avg_span(ox, g.w, g.ow, g.kw, g.stride_w, g.pad_w, g.adaptive, g.count_include_pad);
        T s = 0;
        for (int64_t iy = sy.begin; iy < sy.end; ++iy)
          for (int64_t ix = sx.begin; ix < sx.end; ++ix) s += xp[iy * g.w + ix];
        const int64_t count = sy.count * sx.count;
        yd[p * g.oh * g.ow + oy * g.ow + ox] = count > 0 ? s / T(count) : T(0);
      }
    }
  });
}

template <typename T>
void avg_backward(const PoolGeometry& g, const Tensor& grad_y, Tensor& grad_x) {
  const T* gyd = grad_y.data_ptr<T>();
  T* gxd = grad_x.data_ptr<T>();
  for_planes(g, [&](int64_t p) {
    T* gxp = gxd + p * g.h * g.w;
    std::fill(gxp, gxp + g.h * g.w, T(0));
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const PoolSpan sy = avg_span(oy, g.h, g.oh, g.kh, g.stride_h, g.pad_h, g.adaptive, g.count_include_pad);
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const PoolSpan sx = avg_span(ox, g.w, g.ow, g.kw, g.stride_w, g.pad_w, g.adaptive, g.count_include_pad);
        const int64_t count = sy.count * sx.count;
        if (count <= 0) continue;
        const T share = gyd[p * g.oh * g.ow + oy * g.ow + ox] / T(count);
        for (int64_t iy = sy.begin; iy < sy.end; ++iy)
          for (int64_t ix = sx.begin; ix < sx.end; ++ix) gxp[iy * g.w + ix] += share;
      }
    }
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
