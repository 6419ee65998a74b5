// CPU kernels of the fused softmax cross-entropy: rows in parallel, the reduction over rows in a fixed order
// (in double), so the result does not depend on the thread count.
#include <cmath>

#include "backend/cpu/parallel.h"
#include "ops/data_or_null.h"
#include "ops/loss/cross_entropy_kernels.h"
#include "ops/reduce/reduce_functors.h"
#include "ops/simd/vector_kernels.h"

namespace kiln::ops {
namespace {

// log(sum(exp(row))) with LogSumExpOp's rules for infinities and NaN; float rows of some width take the
// vector max and exp-sum when the max is finite.
template <typename T>
T row_lse(const T* row, int64_t c) {
  if constexpr (std::is_same<T, float>::value) {
    if (c >= 32) {
      const float m = simd::max_f32(row, c);
      if (std::isfinite(m)) return m + std::log(simd::exp_sum_f32(row, m, nullptr, c));
    }
  }
  LogSumExpOp<T> op;
  auto acc = op.identity();
  for (int64_t k = 0; k < c; ++k) acc = op.reduce(acc, row[k], k);
  return LogSumExpOp<T>::value(acc);
}

template <typename T>
void forward_typed(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                   Tensor& lse, Tensor& row_loss, Tensor& out, Tensor& total_weight) {
  const int64_t C = call.c, ignore = call.ignore_index;
  const T* xp = x.data_ptr<T>();
  const int64_t* tp = target.data_ptr<int64_t>();
  const T* wp = data_or_null<T>(weight);
  T *lp = lse.data_ptr<T>(), *rp = row_loss.data_ptr<T>();
  const T ls = static_cast<T>(call.label_smoothing);
  cpu::parallel_for(0, call.n, std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(1, C)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* row = xp + i * C;
      const T l = row_lse(row, C);
      lp[i] = l;
      const int64_t t = tp[i];
      if (t == ignore) {
        rp[i] = T(0);
        continue;
      }
      T smooth = 0;
      if (ls > T(0))
        for (int64_t k = 0; k < C; ++k) smooth += (wp ? wp[k] : T(1)) * (l - row[k]);
      rp[i] = ce_row_loss<T>(l, row[t], ce_target_weight<T>(wp, t, ignore), smooth, ls, C);
    }
  });
  if (call.reduction == CrossEntropyReduction::None) return;
  double sum = 0, kept = 0;
  for (int64_t i = 0; i < call.n; ++i) {
    sum += rp[i];
    kept += ce_target_weight<double>(wp, tp[i], ignore);
  }
  *total_weight.data_ptr<T>() = static_cast<T>(kept);
  const bool mean = call.reduction == CrossEntropyReduction::Mean;
  *out.data_ptr<T>() = static_cast<T>(!mean ? sum : kept == 0 ? NAN : sum / kept);
}

template <typename T>
void backward_typed(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                    const Tensor& lse, const Tensor& grad, const Tensor& total_weight, Tensor& grad_x) {
  const int64_t C = call.c, ignore = call.ignore_index;
  const T* xp = x.data_ptr<T>();
  const int64_t* tp = target.data_ptr<int64_t>();
  const T *wp = data_or_null<T>(weight), *lp = lse.data_ptr<T>(), *gp = grad.data_ptr<T>();
  const T tw = total_weight.defined() ? *total_weight.data_ptr<T>() : T(0);
  T* gx = grad_x.data_ptr<T>();
  const T ls = static_cast<T>(call.label_smoothing);
  T w_sum = static_cast<T>(C);
  if (wp && ls > T(0)) {
    w_sum = 0;
    for (int64_t k = 0; k < C; ++k) w_sum += wp[k];
  }
  cpu::parallel_for(0, call.n, std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(1, C)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* row = xp + i * C;
      T* g = gx + i * C;
      const int64_t t = tp[i];
      if (t == ignore) {
        std::fill(g, g + C, T(0));
        continue;
      }
      const T f = ce_grad_factor<T>(call.reduction, gp, i, tw), w_t = ce_target_weight<T>(wp, t, ignore), l = lp[i];
      // p = exp(x - lse) first (the vector exp for float rows), then the gradient in place.
      if constexpr (std::is_same<T, float>::value) simd::exp_sum_f32(row, l, g, C);
      else
        for (int64_t k = 0; k < C; ++k) g[k] = rmath::exp(row[k] - l);
      for (int64_t k = 0; k < C; ++k) g[k] = f * ce_row_grad<T>(g[k], k == t, w_t, wp ? wp[k] : T(1), w_sum, ls, C);
    }
  });
}

void forward_cpu(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                 Tensor& lse, Tensor& row_loss, Tensor& out, Tensor& total_weight) {
  if (call.dtype == kFloat64) forward_typed<double>(call, x, target, weight, lse, row_loss, out, total_weight);
  else forward_typed<float>(call, x, target, weight, lse, row_loss, out, total_weight);
}
void backward_cpu(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                  const Tensor& lse, const Tensor& grad, const Tensor& total_weight, Tensor& grad_x) {
  if (call.dtype == kFloat64) backward_typed<double>(call, x, target, weight, lse, grad, total_weight, grad_x);
  else backward_typed<float>(call, x, target, weight, lse, grad, total_weight, grad_x);
}
}  // namespace
KILN_REGISTER_KERNEL(cross_entropy_forward_stub, kCPU, forward_cpu);
KILN_REGISTER_KERNEL(cross_entropy_backward_stub, kCPU, backward_cpu);
}  // namespace kiln::ops
