// CPU batch normalisation kernels: one task per run of channels, sums accumulated in double. Channels-last
// tensors (rows of C channels) take row loops instead, with the per-channel sums kept in a row of accumulators.
#include <algorithm>
#include <vector>

#include "backend/cpu/parallel.h"
#include "ops/data_or_null.h"
#include "ops/norm/batch_norm_kernels.h"

namespace kiln::ops {
namespace {

template <typename F>
void for_channels(const BatchNormGeometry& g, const F& fn) {
  const int64_t per_channel = std::max<int64_t>(1, g.n * g.s);
  cpu::parallel_for(0, g.c, std::max<int64_t>(1, cpu::kGrainSize / per_channel), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) fn(c);
  });
}

// Calls fn(run pointer offset) for each of channel c's N contiguous runs of S elements.
template <typename F>
void for_runs(const BatchNormGeometry& g, int64_t c, const F& fn) {
  for (int64_t i = 0; i < g.n; ++i) fn((i * g.c + c) * g.s);
}

// The sum in double of f(k) for k in [0, n), in four independent accumulators so that the adds overlap instead of
// each waiting on the last (a fixed order: the result is the same on every run).
template <typename F>
double run_sum(int64_t n, const F& f) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    a0 += f(k);
    a1 += f(k + 1);
    a2 += f(k + 2);
    a3 += f(k + 3);
  }
  for (; k < n; ++k) a0 += f(k);
  return (a0 + a1) + (a2 + a3);
}

// ---- channels-last: rows r in [0, n * s), element (r, c) at r * C + c ----

// The per-channel sums of k quantities (acc[j * C + c]), added row by row by add_row(r, acc). Rows go in fixed
// blocks, each into its own partial row, added in block order: the partition depends on the geometry only, so
// the result does not depend on the thread count.
template <typename F>
std::vector<double> column_sums(const BatchNormGeometry& g, int64_t k, const F& add_row) {
  const int64_t rows = g.n * g.s, width = k * g.c;
  const int64_t per_block = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, g.c));
  const int64_t blocks = (rows + per_block - 1) / per_block;
  std::vector<double> partial(static_cast<size_t>(blocks * width), 0.0);
  cpu::parallel_for(0, blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      double* acc = partial.data() + blk * width;
      for (int64_t r = blk * per_block, end = std::min(rows, r + per_block); r < end; ++r) add_row(r, acc);
    }
  });
  std::vector<double> total(static_cast<size_t>(width), 0.0);
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t j = 0; j < width; ++j) total[j] += partial[blk * width + j];
  return total;
}

// fn(r) for every row, in parallel.
template <typename F>
void for_rows(const BatchNormGeometry& g, const F& fn) {
  cpu::parallel_for(0, g.n * g.s, std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(1, g.c)),
                    [&](int64_t b, int64_t e) {
                      for (int64_t r = b; r < e; ++r) fn(r);
                    });
}

template <typename T>
void stats_rows(const BatchNormGeometry& g, const T* xd, T* md, T* vd) {
  const int64_t C = g.c;
  const double count = static_cast<double>(g.n * g.s);
  std::vector<double> m = column_sums(g, 1, [&](int64_t r, double* acc) {
    const T* xr = xd + r * C;
    for (int64_t c = 0; c < C; ++c) acc[c] += xr[c];
  });
  for (double& v : m) v /= count;
  const std::vector<double> sq = column_sums(g, 1, [&](int64_t r, double* acc) {
    const T* xr = xd + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const double d = xr[c] - m[c];
      acc[c] += d * d;
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    md[c] = static_cast<T>(m[c]);
    vd[c] = static_cast<T>(sq[c] / count);
  }
}

template <typename T>
void apply_rows(const BatchNormGeometry& g, const T* xd, const T* md, const T* id, const T* wd, const T* bd, T* yd) {
  const int64_t C = g.c;
  std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) bn_fold(md, id, wd, bd, c, scale[c], shift[c]);
  for_rows(g, [&](int64_t r) {
    const T* xr = xd + r * C;
    T* yr = yd + r * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * scale[c] + shift[c];
  });
}

template <typename T>
void backward_rows(const BatchNormGeometry& g, const T* xd, const T* gyd, const T* md, const T* id, const T* wd,
                   bool training, T* gxd, T* gwd, T* gbd) {
  const int64_t C = g.c;
  const double count = static_cast<double>(g.n * g.s);
  const std::vector<double> sums = column_sums(g, 2, [&](int64_t r, double* acc) {
    const T* xr = xd + r * C;
    const T* gr = gyd + r * C;
    for (int64_t c = 0; c < C; ++c) {
      acc[c] += gr[c];
      acc[C + c] += gr[c] * ((xr[c] - static_cast<double>(md[c])) * id[c]);
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    if (gwd) gwd[c] = static_cast<T>(sums[C + c]);
    if (gbd) gbd[c] = static_cast<T>(sums[c]);
  }
  if (!gxd) return;
  std::vector<double> scale(static_cast<size_t>(C)), mean_dy(static_cast<size_t>(C)), mean_dy_xhat(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = id[c] * (wd ? wd[c] : 1.0);
    mean_dy[c] = training ? sums[c] / count : 0;
    mean_dy_xhat[c] = training ? sums[C + c] / count : 0;
  }
  for_rows(g, [&](int64_t r) {
    const T* xr = xd + r * C;
    const T* gr = gyd + r * C;
    T* out = gxd + r * C;
    for (int64_t c = 0; c < C; ++c)
      out[c] = static_cast<T>(bn_grad_x(gr[c], xr[c], md[c], id[c], scale[c], mean_dy[c], mean_dy_xhat[c]));
  });
}

// ---- NCHW ----

template <typename T>
void stats(const BatchNormGeometry& g, const Tensor& x, Tensor& mean, Tensor& var) {
  const T* xd = x.data_ptr<T>();
  T* md = mean.data_ptr<T>();
  T* vd = var.data_ptr<T>();
  if (g.channels_last) return stats_rows(g, xd, md, vd);
  const double count = static_cast<double>(g.n * g.s);
  for_channels(g, [&](int64_t c) {
    double sum = 0;
    for_runs(g, c, [&](int64_t o) { sum += run_sum(g.s, [&](int64_t k) { return static_cast<double>(xd[o + k]); }); });
    const double m = sum / count;
    double sq = 0;  // two passes: the squared deviations do not cancel as E[x^2] - m^2 would
    for_runs(g, c, [&](int64_t o) {
      sq += run_sum(g.s, [&](int64_t k) {
        const double d = xd[o + k] - m;
        return d * d;
      });
    });
    md[c] = static_cast<T>(m);
    vd[c] = static_cast<T>(sq / count);
  });
}

template <typename T>
void apply(const BatchNormGeometry& g, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
           const Tensor& bias, Tensor& y) {
  const T* xd = x.data_ptr<T>();
  T* yd = y.data_ptr<T>();
  const T* md = mean.data_ptr<T>();
  const T* id = invstd.data_ptr<T>();
  const T *wd = data_or_null<T>(weight), *bd = data_or_null<T>(bias);
  if (g.channels_last) return apply_rows(g, xd, md, id, wd, bd, yd);
  for_channels(g, [&](int64_t c) {
    T scale, shift;
    bn_fold(md, id, wd, bd, c, scale, shift);
    for_runs(g, c, [&](int64_t o) {
      for (int64_t k = 0; k < g.s; ++k) yd[o + k] = xd[o + k] * scale + shift;
    });
  });
}

template <typename T>
void backward(const BatchNormGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& mean,
              const Tensor& invstd, const Tensor& weight, bool training, Tensor& grad_x, Tensor& grad_weight,
              Tensor& grad_bias) {
  const T* xd = x.data_ptr<T>();
  const T* gyd = grad_y.data_ptr<T>();
  const T* md = mean.data_ptr<T>();
  const T* id = invstd.data_ptr<T>();
  const T* wd = data_or_null<T>(weight);
  T *gxd = data_or_null<T>(grad_x), *gwd = data_or_null<T>(grad_weight), *gbd = data_or_null<T>(grad_bias);
  if (g.channels_last) return backward_rows(g, xd, gyd, md, id, wd, training, gxd, gwd, gbd);
  const double count = static_cast<double>(g.n * g.s);
  for_channels(g, [&](int64_t c) {
    const double m = md[c], inv = id[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for_runs(g, c, [&](int64_t o) {
      sum_dy += run_sum(g.s, [&](int64_t k) { return static_cast<double>(gyd[o + k]); });
      sum_dy_xhat += run_sum(g.s, [&](int64_t k) { return gyd[o + k] * ((xd[o + k] - m) * inv); });
    });
    if (gwd) gwd[c] = static_cast<T>(sum_dy_xhat);
    if (gbd) gbd[c] = static_cast<T>(sum_dy);
    if (!gxd) return;
    const double scale = inv * (wd ? wd[c] : 1.0);
    // Training: the mean and variance depend on x, which subtracts the mean of grad_y and its projection on xhat.
    const double mean_dy = training ? sum_dy / count : 0, mean_dy_xhat = training ? sum_dy_xhat / count : 0;
    for_runs(g, c, [&](int64_t o) {
      for (int64_t k = 0; k < g.s; ++k)
        gxd[o + k] = static_cast<T>(bn_grad_x(gyd[o + k], xd[o + k], m, inv, scale, mean_dy, mean_dy_xhat));
    });
  });
}

void stats_cpu(const BatchNormGeometry& g, const Tensor& x, Tensor& mean, Tensor& var) {
  if (g.dtype == kFloat64) stats<double>(g, x, mean, var);
  else stats<float>(g, x, mean, var);
}
void apply_cpu(const BatchNormGeometry& g, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& w,
               const Tensor& b, Tensor& y) {
  if (g.dtype == kFloat64) apply<double>(g, x, mean, invstd, w, b, y);
  else apply<float>(g, x, mean, invstd, w, b, y);
}
void backward_cpu(const BatchNormGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& mean,
                  const Tensor& invstd, const Tensor& w, bool training, Tensor& gx, Tensor& gw, Tensor& gb) {
  if (g.dtype == kFloat64) backward<double>(g, x, gy, mean, invstd, w, training, gx, gw, gb);
  else backward<float>(g, x, gy, mean, invstd, w, training, gx, gw, gb);
}
}  // namespace

KILN_REGISTER_KERNEL(batch_norm_stats_stub, kCPU, stats_cpu);
KILN_REGISTER_KERNEL(batch_norm_apply_stub, kCPU, apply_cpu);
KILN_REGISTER_KERNEL(batch_norm_backward_stub, kCPU, backward_cpu);
}  // namespace kiln::ops
