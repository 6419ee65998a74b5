// CPU softmax / log_softmax forward and backward over the middle dim of a contiguous [outer, K, inner] tensor.
#include <algorithm>
#include <type_traits>

#include "backend/cpu/parallel.h"
#include "ops/reduce/reduce_functors.h"
#include "ops/reduce/reduce_kernels.h"
#include "ops/simd/vector_kernels.h"

namespace kiln::ops {
namespace {

constexpr int64_t kGrain = 16384;
constexpr int64_t kWidth = 64;  // columns handled together when inner > 1

template <typename scalar_t>
struct SoftmaxCpu {
  using A = opmath_t<scalar_t>;
  const SoftmaxCall& c;

  // One row of K contiguous elements: a max pass, an exp-sum pass, a write pass.
  void row(const scalar_t* x, scalar_t* y) const {
    int64_t K = c.K;
    if constexpr (std::is_same<scalar_t, float>::value) return row_vectorised(x, y);
    A m = rmath::lowest<A>();
    for (int64_t k = 0; k < K; ++k) m = ExtremeOp<scalar_t, true>{}.combine(m, static_cast<A>(x[k]));
    A s = 0;
    // Full-precision types keep exp(x - m) in y and rescale it; 16-bit types recompute it instead of
    // rounding the intermediate.
    constexpr bool kStore = std::is_same<scalar_t, A>::value;
    for (int64_t k = 0; k < K; ++k) {
      A e = rmath::exp(static_cast<A>(x[k]) - m);
      if (kStore && !c.log) y[k] = static_cast<scalar_t>(e);
      s += e;
    }
    if (c.log) {
      auto f = LogSoftmaxFn<A>::make(m, s);
      for (int64_t k = 0; k < K; ++k) y[k] = static_cast<scalar_t>(f(static_cast<A>(x[k])));
    } else if (kStore) {
      A inv = A(1) / s;
      for (int64_t k = 0; k < K; ++k) y[k] = static_cast<scalar_t>(static_cast<A>(y[k]) * inv);
    } else {
      auto f = SoftmaxFn<A>::make(m, s);
      for (int64_t k = 0; k < K; ++k) y[k] = static_cast<scalar_t>(f(static_cast<A>(x[k])));
    }
  }

  // The same three passes on Highway's vector exp (float32 rows).
  void row_vectorised(const float* x, float* y) const {
    int64_t K = c.K;
    float m = simd::max_f32(x, K);
    if (c.log) {
      auto f = LogSoftmaxFn<float>::make(m, simd::exp_sum_f32(x, m, nullptr, K));
      for (int64_t k = 0; k < K; ++k) y[k] = f(x[k]);
    } else {
      simd::scale_f32(y, 1.0f / simd::exp_sum_f32(x, m, y, K), K);
    }
  }

  // w columns (stride inner along K) at once, so the inner loops run over adjacent memory.
  void columns(const scalar_t* x, scalar_t* y, int64_t w) const {
    int64_t K = c.K, st = c.inner;
    A m[kWidth], s[kWidth];
    for (int64_t j = 0; j < w; ++j) m[j] = rmath::lowest<A>(), s[j] = 0;
    ExtremeOp<scalar_t, true> mx;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < w; ++j) m[j] = mx.combine(m[j], static_cast<A>(x[k * st + j]));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < w; ++j) s[j] += rmath::exp(static_cast<A>(x[k * st + j]) - m[j]);
    SoftmaxFn<A> sf[kWidth];
    LogSoftmaxFn<A> lf[kWidth];
    for (int64_t j = 0; j < w; ++j) {
      sf[j] = SoftmaxFn<A>::make(m[j], s[j]);
      lf[j] = LogSoftmaxFn<A>::make(m[j], s[j]);
    }
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < w; ++j) {
        A v = static_cast<A>(x[k * st + j]);
        y[k * st + j] = static_cast<scalar_t>(c.log ? lf[j](v) : sf[j](v));
      }
  }

  void operator()() const {
    const scalar_t* x = static_cast<const scalar_t*>(c.in);
    scalar_t* y = static_cast<scalar_t*>(c.result);
    int64_t K = c.K, inner = c.inner;
    if (inner == 1) {
      cpu::parallel_for(0, c.outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(K, 1)), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) row(x + o * K, y + o * K);
      });
      return;
    }
    int64_t blocks = (inner + kWidth - 1) / kWidth;
    int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(K * kWidth, 1));
    cpu::parallel_for(0, c.outer * blocks, grain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        int64_t o = t / blocks, j0 = (t % blocks) * kWidth;
        int64_t off = o * K * inner + j0;
        columns(x + off, y + off, std::min(kWidth, inner - j0));
      }
    });
  }
};

// grad_in = y * (g - sum(g * y)) for softmax, g - exp(y) * sum(g) for log_softmax, along K.
template <typename scalar_t>
struct SoftmaxBackwardCpu {
  using A = opmath_t<scalar_t>;
  const SoftmaxCall& c;

  A dot_term(A g, A y) const { return c.log ? g : g * y; }

  void operator()() const {
    const scalar_t* gp = static_cast<const scalar_t*>(c.in);
    const scalar_t* yp = static_cast<const scalar_t*>(c.out);
    scalar_t* gi = static_cast<scalar_t*>(c.result);
    int64_t K = c.K, inner = c.inner, st = inner;
    int64_t blocks = (inner + kWidth - 1) / kWidth;
    int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(K * std::min(inner, kWidth), 1));
    cpu::parallel_for(0, c.outer * blocks, grain, [&](int64_t b, int64_t e) {
      A dot[kWidth];
      for (int64_t t = b; t < e; ++t) {
        int64_t o = t / blocks, j0 = (t % blocks) * kWidth, w = std::min(kWidth, inner - j0);
        int64_t off = o * K * inner + j0;
        const scalar_t *g = gp + off, *y = yp + off;
        scalar_t* r = gi + off;
        for (int64_t j = 0; j < w; ++j) dot[j] = 0;
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < w; ++j)
            dot[j] += dot_term(static_cast<A>(g[k * st + j]), static_cast<A>(y[k * st + j]));
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < w; ++j) {
            A gv = static_cast<A>(g[k * st + j]), yv = static_cast<A>(y[k * st + j]);
            r[k * st + j] = static_cast<scalar_t>(c.log ? SoftmaxBackwardFn<A, true>{dot[j]}(gv, yv)
                                                        : SoftmaxBackwardFn<A, false>{dot[j]}(gv, yv));
          }
      }
    });
  }
};

void softmax_cpu(const SoftmaxCall& c) {
  KILN_DISPATCH_FLOATING(c.dtype, "softmax", [&] { SoftmaxCpu<scalar_t>{c}(); });
}
void softmax_backward_cpu(const SoftmaxCall& c) {
  KILN_DISPATCH_FLOATING(c.dtype, "softmax_backward", [&] { SoftmaxBackwardCpu<scalar_t>{c}(); });
}
}  // namespace
KILN_REGISTER_KERNEL(softmax_stub, kCPU, softmax_cpu);
KILN_REGISTER_KERNEL(softmax_backward_stub, kCPU, softmax_backward_cpu);
}  // namespace kiln::ops
