// Unary pointwise math and the fused first derivatives of the activations, shared by CPU and CUDA.
#pragma once
#include <cmath>
#include <type_traits>

#include "ops/pointwise/binary_functors.h"

namespace kiln::ops {

// ---- ops that accept integers (T is the opmath type: float for f16/bf16) ----
struct NegFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return static_cast<T>(-a);
  }
};
struct AbsFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    if constexpr (std::is_floating_point<T>::value)
      return std::fabs(a);
    else
      return is_negative_value(a) ? static_cast<T>(-a) : a;
  }
};
/// -1, 0 or 1; NaN gives 0 like torch.sign.
struct SignFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return static_cast<T>(static_cast<int>(T(0) < a) - static_cast<int>(is_negative_value(a)));
  }
};
struct SquareFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return static_cast<T>(a * a);
  }
};
/// NaN stays NaN (torch's relu is clamp_min(0), which propagates NaN).
struct ReluFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return (a > T(0) || is_nan_value(a)) ? a : T(0);
  }
};

// ---- floating-only ops ----
struct ExpFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::exp(a);
  }
};
struct LogFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::log(a);
  }
};
struct Log1pFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::log1p(a);
  }
};
struct SqrtFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::sqrt(a);
  }
};
struct RsqrtFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return T(1) / std::sqrt(a);
  }
};
struct SinFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::sin(a);
  }
};
struct CosFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::cos(a);
  }
};
struct TanhFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::tanh(a);
  }
};
struct SigmoidFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return T(1) / (T(1) + std::exp(-a));
  }
};
struct ReciprocalFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return T(1) / a;
  }
};
struct FloorFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::floor(a);
  }
};
struct CeilFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::ceil(a);
  }
};
/// Round half to even: nearbyint under the default rounding mode (rint on the device is the same).
struct RoundFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return std::nearbyint(a);
  }
};

template <typename T>
struct LeakyReluFn {
  T slope;
  KILN_HD T operator()(T a) const { return a > T(0) ? a : a * slope; }
};
struct GeluErfFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return T(0.5) * a * (T(1) + std::erf(a * T(0.70710678118654752440)));
  }
};
struct GeluTanhFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    const T k_beta = T(0.79788456080286535588);  // sqrt(2/pi)
    const T k_kappa = T(0.044715);
    return T(0.5) * a * (T(1) + std::tanh(k_beta * (a + k_kappa * a * a * a)));
  }
};
struct SiluFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return a / (T(1) + std::exp(-a));
  }
};
/// log(1 + exp(beta*a)) / beta, linear above the threshold where exp would overflow, as torch.
template <typename T>
struct SoftplusFn {
  T beta, threshold;
  KILN_HD T operator()(T a) const { return a * beta > threshold ? a : std::log1p(std::exp(a * beta)) / beta; }
};
/// The standard normal CDF (gelu's derivative needs it); erfc keeps the lower tail accurate.
struct NormCdfFn {
  template <typename T>
  KILN_HD T operator()(T a) const {
    return T(0.5) * std::erfc(-a * T(0.70710678118654752440));
  }
};

// ---- predicates (bool results) ----
struct IsNanFn {
  template <typename T>
  KILN_HD bool operator()(T a) const {
    return is_nan_value(a);
  }
};
struct IsInfFn {
  template <typename T>
  KILN_HD bool operator()(T a) const {
    return is_inf_value(a);
  }
};
struct IsFiniteFn {
  template <typename T>
  KILN_HD bool operator()(T a) const {
    return !is_nan_value(a) && !is_inf_value(a);
  }
};

/// clamp with torch's NaN rules: a NaN input or a NaN bound gives NaN.
template <typename T>
struct ClampFn {
  T lo, hi;
  bool has_lo, has_hi;
  KILN_HD T operator()(T a) const {
    if (is_nan_value(a)) return a;
    if (has_lo) a = is_nan_value(lo) ? lo : (a < lo ? lo : a);
    if (has_hi) a = is_nan_value(hi) ? hi : (a > hi ? hi : a);
    return a;
  }
};

// ---- fused first derivatives: f(g, v) with v the input x or the output y as named ----
struct SigmoidBackwardFn {
  template <typename T>
  KILN_HD T operator()(T g, T y) const {
    return g * (T(1) - y) * y;
  }
};
struct TanhBackwardFn {
  template <typename T>
  KILN_HD T operator()(T g, T y) const {
    return g * (T(1) - y * y);
  }
};
struct ReluBackwardFn {  // threshold_backward on the output, as torch
  template <typename T>
  KILN_HD T operator()(T g, T y) const {
    return y <= T(0) ? T(0) : g;
  }
};
template <typename T>
struct LeakyReluBackwardFn {
  T slope;
  KILN_HD T operator()(T g, T x) const { return x > T(0) ? g : g * slope; }
};
struct GeluErfBackwardFn {
  template <typename T>
  KILN_HD T operator()(T g, T x) const {
    T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
    T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);  // 1/sqrt(2 pi)
    return g * (cdf + x * pdf);
  }
};
struct GeluTanhBackwardFn {
  template <typename T>
  KILN_HD T operator()(T g, T x) const {
    const T k_beta = T(0.79788456080286535588);
    const T k_kappa = T(0.044715);
    T x_sq = x * x;
    T inner = k_beta * (x + k_kappa * x_sq * x);
    T t = std::tanh(inner);
    T left = T(0.5) * x, right = T(1) + t;
    T left_d = T(0.5) * right;
    T right_d = left * (T(1) - t * t) * k_beta * (T(1) + T(3) * k_kappa * x_sq);
    return g * (left_d + right_d);
  }
};
struct SiluBackwardFn {
  template <typename T>
  KILN_HD T operator()(T g, T x) const {
    T s = T(1) / (T(1) + std::exp(-x));
    return g * s * (T(1) + x * (T(1) - s));
  }
};
template <typename T>
struct SoftplusBackwardFn {
  T beta, threshold;
  KILN_HD T operator()(T g, T x) const {
    T z = std::exp(x * beta);
    return x * beta > threshold ? g : g * z / (z + T(1));
  }
};
}  // namespace kiln::ops
