// Functors of the fused optimizer updates, shared by the CPU loop and the CUDA kernel: each updates one
// element of a parameter and up to three state buffers in opmath, in torch's order of operations.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kiln/core/dtype.h"
#include "kiln/core/dtype.h"
#include "kiln/tensor/tensor.h"
#include "ops/optim/optim_kernels.h"

namespace kiln::ops {

// The C functions (not std::sqrt) so that the CPU loop's const declaration of them applies.
KILN_HD float optim_sqrt(float x) { return ::sqrtf(x); }
KILN_HD double optim_sqrt(double x) { return ::sqrt(x); }
/// torch.maximum: a NaN in either operand gives NaN.
template <typename T>
KILN_HD T optim_maximum(T a, T b) { return (a != a || a > b) ? a : b; }

/// The tensors of one update: the parameter, its gradient and up to three state buffers (null when unused).
template <typename scalar_t>
struct OptimPtrs {
  scalar_t* param;
  const scalar_t* grad;
  scalar_t* state[3];
};

/// Loads element i, runs f in opmath and stores the results. F::kLoad / F::kStore are bit masks of the
/// state slots f reads / writes, so an unused (or not yet initialised) buffer is never touched.
template <typename scalar_t, typename F>
KILN_HD void optim_element(int64_t i, const OptimPtrs<scalar_t>& ptr, const F& f) {
  using acc_t = opmath_t<scalar_t>;
  acc_t p = static_cast<acc_t>(ptr.param[i]);
  acc_t g = static_cast<acc_t>(ptr.grad[i]);
  acc_t s0 = acc_t(0), s1 = acc_t(0), s2 = acc_t(0);
  if constexpr ((F::kLoad & 1) != 0) s0 = static_cast<acc_t>(ptr.state[0][i]);
  if constexpr ((F::kLoad & 2) != 0) s1 = static_cast<acc_t>(ptr.state[1][i]);
  if constexpr ((F::kLoad & 4) != 0) s2 = static_cast<acc_t>(ptr.state[2][i]);
  f(p, g, s0, s1, s2);
  ptr.param[i] = static_cast<scalar_t>(p);
  if constexpr ((F::kStore & 1) != 0) ptr.state[0][i] = static_cast<scalar_t>(s0);
  if constexpr ((F::kStore & 2) != 0) ptr.state[1][i] = static_cast<scalar_t>(s1);
  if constexpr ((F::kStore & 4) != 0) ptr.state[2][i] = static_cast<scalar_t>(s2);
}

/// Adam / AdamW. WD: 0 none, 1 L2 (grad += wd * p), 2 decoupled (p *= 1 - lr * wd).
/// States: exp_avg, exp_avg_sq, max_exp_avg_sq (AMSGRAD only).
template <typename acc_t, int WD, bool AMSGRAD>
struct AdamFn {
  static constexpr int kLoad = AMSGRAD ? 7 : 3;
  static constexpr int kStore = kLoad;
  acc_t beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, decay, neg_step_size, bias_correction2_sqrt;
  explicit AdamFn(const AdamHyper& h)
      : beta1(h.beta1), one_minus_beta1(1 - h.beta1), beta2(h.beta2), one_minus_beta2(1 - h.beta2), eps(h.eps),
        weight_decay(h.weight_decay), decay(h.decay), neg_step_size(-h.step_size),
        bias_correction2_sqrt(h.bias_correction2_sqrt) {}
  /// The step's values from AdamHyper::live (a replayed CUDA graph).
  KILN_HD void refresh(const double* live) {
    neg_step_size = static_cast<acc_t>(-live[0]);
    bias_correction2_sqrt = static_cast<acc_t>(live[1]);
    decay = static_cast<acc_t>(live[2]);
  }
  KILN_HD void operator()(acc_t& p, acc_t g, acc_t& m, acc_t& v, acc_t& vmax) const {
    if constexpr (WD == 1) g = g + weight_decay * p;
    if constexpr (WD == 2) p = p * decay;
    m = m * beta1 + one_minus_beta1 * g;
    v = v * beta2 + one_minus_beta2 * g * g;
    acc_t second = v;
    if constexpr (AMSGRAD) {
      vmax = optim_maximum(vmax, v);
      second = vmax;
    }
    acc_t denom = optim_sqrt(second) / bias_correction2_sqrt + eps;
    p = p + neg_step_size * m / denom;
  }
};

// Every choice is a template parameter, not a runtime flag: a branch in the loop body stops GCC from
// vectorising the CPU loop.

/// SGD. MOM: 0 no momentum, 1 first step (the buffer becomes the gradient), 2 later steps. State: momentum_buffer.
template <typename acc_t, bool WD, int MOM, bool NESTEROV>
struct SgdFn {
  static constexpr int kLoad = MOM == 2 ? 1 : 0;
  static constexpr int kStore = MOM != 0 ? 1 : 0;
  acc_t neg_lr, momentum, one_minus_dampening, weight_decay;
  explicit SgdFn(const SgdHyper& h)
      : neg_lr(-h.lr), momentum(h.momentum), one_minus_dampening(1 - h.dampening), weight_decay(h.weight_decay) {}
  /// The learning rate from SgdHyper::live (a replayed CUDA graph).
  KILN_HD void refresh(const double* live) { neg_lr = static_cast<acc_t>(-live[0]); }
  KILN_HD void operator()(acc_t& p, acc_t g, acc_t& buf, acc_t&, acc_t&) const {
    if constexpr (WD) g = g + weight_decay * p;
    if constexpr (MOM == 1) buf = g;
    if constexpr (MOM == 2) buf = buf * momentum + one_minus_dampening * g;
    if constexpr (MOM != 0 && NESTEROV) g = g + momentum * buf;
    if constexpr (MOM != 0 && !NESTEROV) g = buf;
    p = p + neg_lr * g;
  }
};

/// RMSprop. States: square_avg, grad_avg (CENTERED), momentum_buffer (MOMENTUM).
template <typename acc_t, bool WD, bool CENTERED, bool MOMENTUM>
struct RmspropFn {
  static constexpr int kLoad = 1 | (CENTERED ? 2 : 0) | (MOMENTUM ? 4 : 0);
  static constexpr int kStore = kLoad;
  acc_t neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  explicit RmspropFn(const RmspropHyper& h)
      : neg_lr(-h.lr), alpha(h.alpha), one_minus_alpha(1 - h.alpha), eps(h.eps), weight_decay(h.weight_decay),
        momentum(h.momentum) {}
  KILN_HD void operator()(acc_t& p, acc_t g, acc_t& sq, acc_t& gavg, acc_t& buf) const {
    if constexpr (WD) g = g + weight_decay * p;
    sq = sq * alpha + one_minus_alpha * g * g;
    acc_t avg;
    if constexpr (CENTERED) {
      gavg = gavg * alpha + one_minus_alpha * g;
      avg = optim_sqrt(sq - gavg * gavg);
    } else {
      avg = optim_sqrt(sq);
    }
    avg = avg + eps;
    if constexpr (MOMENTUM) {
      buf = buf * momentum + g / avg;
      p = p + neg_lr * buf;
    } else {
      p = p + neg_lr * g / avg;
    }
  }
};

/// Adagrad. State: sum.
template <typename acc_t, bool WD>
struct AdagradFn {
  static constexpr int kLoad = 1;
  static constexpr int kStore = 1;
  acc_t neg_clr, eps, weight_decay;
  explicit AdagradFn(const AdagradHyper& h) : neg_clr(-h.clr), eps(h.eps), weight_decay(h.weight_decay) {}
  KILN_HD void operator()(acc_t& p, acc_t g, acc_t& sum, acc_t&, acc_t&) const {
    if constexpr (WD) g = g + weight_decay * p;
    sum = sum + g * g;
    acc_t denom = optim_sqrt(sum) + eps;
    p = p + neg_clr * g / denom;
  }
};

// ---- host side: pick the functor variant and hand it to a loop (the CPU loop or the CUDA launch) ----

template <typename scalar_t>
OptimPtrs<scalar_t> optim_ptrs(const Tensor& param, const Tensor& grad, const Tensor& s0, const Tensor& s1 = Tensor(),
                               const Tensor& s2 = Tensor()) {
  auto ptr = [](const Tensor& t) { return t.defined() ? static_cast<scalar_t*>(t.data_ptr()) : nullptr; };
  return OptimPtrs<scalar_t>{ptr(param), ptr(grad), {ptr(s0), ptr(s1), ptr(s2)}};
}

/// Calls f(std::true_type) or f(std::false_type): a runtime flag made a template argument.
template <typename F>
void with_flag(bool flag, const F& f) {
  if (flag) f(std::true_type{});
  else f(std::false_type{});
}

/// A type as a value, to pass a dtype's C++ type into a generic lambda.
template <typename T>
struct TypeTag {
  using type = T;
};

/// fn(TypeTag<scalar_t>, f) is called once with dt's type and the Adam functor variant h selects.
template <typename Fn>
void with_adam_fn(DType dt, const AdamHyper& h, const Fn& fn) {
  KILN_DISPATCH_FLOATING(dt, "adam_step", [&] {
    using acc_t = opmath_t<scalar_t>;
    auto by_amsgrad = [&](auto wd) {
      with_flag(h.amsgrad, [&](auto ams) {
        fn(TypeTag<scalar_t>{}, AdamFn<acc_t, decltype(wd)::value, decltype(ams)::value>(h));
      });
    };
    if (h.weight_decay == 0) by_amsgrad(std::integral_constant<int, 0>{});
    else if (!h.decoupled) by_amsgrad(std::integral_constant<int, 1>{});
    else by_amsgrad(std::integral_constant<int, 2>{});
  });
}

/// loop(ptrs, fn) is called once with the functor variant the hyper-parameters select.
template <typename Loop>
void run_adam(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor& vmax,
              const AdamHyper& h, const Loop& loop) {
  with_adam_fn(p.dtype(), h, [&](auto tag, const auto& f) {
    loop(optim_ptrs<typename decltype(tag)::type>(p, g, m, v, vmax), f);
  });
}

/// Calls fn(TypeTag<scalar_t>, functor) with the SGD functor the hyper-parameters select.
template <typename Fn>
void with_sgd_fn(DType dt, const SgdHyper& h, const Fn& fn) {
  KILN_DISPATCH_FLOATING(dt, "sgd_step", [&] {
    using acc_t = opmath_t<scalar_t>;
    with_flag(h.weight_decay != 0, [&](auto wd) {
      constexpr bool W = decltype(wd)::value;
      if (h.momentum == 0) {
        fn(TypeTag<scalar_t>{}, SgdFn<acc_t, W, 0, false>(h));
        return;
      }
      with_flag(h.nesterov, [&](auto nesterov) {
        constexpr bool N = decltype(nesterov)::value;
        if (h.first_step) fn(TypeTag<scalar_t>{}, SgdFn<acc_t, W, 1, N>(h));
        else fn(TypeTag<scalar_t>{}, SgdFn<acc_t, W, 2, N>(h));
      });
    });
  });
}

template <typename Loop>
void run_sgd(const Tensor& p, const Tensor& g, const Tensor& buf, const SgdHyper& h, const Loop& loop) {
  with_sgd_fn(p.dtype(), h, [&](auto tag, const auto& f) { loop(optim_ptrs<typename decltype(tag)::type>(p, g, buf), f); });
}

template <typename Loop>
void run_rmsprop(const Tensor& p, const Tensor& g, const Tensor& square_avg, const Tensor& grad_avg,
                 const Tensor& momentum_buffer, const RmspropHyper& h, const Loop& loop) {
  KILN_DISPATCH_FLOATING(p.dtype(), "rmsprop_step", [&] {
    using acc_t = opmath_t<scalar_t>;
    auto ptrs = optim_ptrs<scalar_t>(p, g, square_avg, grad_avg, momentum_buffer);
    with_flag(h.weight_decay != 0, [&](auto wd) {
      with_flag(h.centered, [&](auto centered) {
        with_flag(h.momentum > 0, [&](auto momentum) {
          loop(ptrs, RmspropFn<acc_t, decltype(wd)::value, decltype(centered)::value, decltype(momentum)::value>(h));
        });
      });
    });
  });
}

template <typename Loop>
void run_adagrad(const Tensor& p, const Tensor& g, const Tensor& sum, const AdagradHyper& h, const Loop& loop) {
  KILN_DISPATCH_FLOATING(p.dtype(), "adagrad_step", [&] {
    auto ptrs = optim_ptrs<scalar_t>(p, g, sum);
    with_flag(h.weight_decay != 0,
              [&](auto wd) { loop(ptrs, AdagradFn<opmath_t<scalar_t>, decltype(wd)::value>(h)); });
  });
}
}  // namespace kiln::ops
