// Combining functors of the reduction family (sum, prod, max/min with index, Welford, norms, logsumexp,
// any/all) and the softmax row math, shared by the CPU loops and the CUDA kernels.
#pragma once
#include <math.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "kiln/core/dtype.h"

namespace kiln::ops {

// Every reduction op has the same shape, so one CPU loop and one set of CUDA kernels serve them all:
//   acc_t identity()                      the accumulator of zero elements
//   acc_t reduce(acc, x, k)               folds element x (in opmath) with logical index k in its row
//   acc_t combine(a, b)                   merges two partial accumulators (order-free up to rounding;
//                                         indexed ops break ties on the index, so any order gives the
//                                         first occurrence)
//   out_t project(acc)                    the row's result
// kIndexed ops also produce acc.i, the index of the selected element.

/// Accumulator of sums and products: double for double, float for float/f16/bf16, int64 for integers and bool.
template <typename T>
using sum_acc_t = std::conditional_t<is_floating_cpp<T>::value, opmath_t<T>, int64_t>;
/// Result dtype of sum and prod: integers and bool widen to int64, like torch.
template <typename T>
using sum_out_t = std::conditional_t<is_floating_cpp<T>::value, T, int64_t>;

namespace rmath {
KILN_HD float exp(float x) { return ::expf(x); }
KILN_HD double exp(double x) { return ::exp(x); }
KILN_HD float log(float x) { return ::logf(x); }
KILN_HD double log(double x) { return ::log(x); }
KILN_HD float sqrt(float x) { return ::sqrtf(x); }
KILN_HD double sqrt(double x) { return ::sqrt(x); }
KILN_HD float pow(float x, float y) { return ::powf(x, y); }
KILN_HD double pow(double x, double y) { return ::pow(x, y); }
template <typename V>
KILN_HD V abs(V x) { return x < V(0) ? -x : x; }
template <typename V>
KILN_HD bool isnan(V x) { return x != x; }
/// The smallest value of V (-inf for floating types): the identity of max.
template <typename V>
KILN_HD V lowest() {
  if constexpr (std::is_floating_point<V>::value) return -std::numeric_limits<V>::infinity();
  else return std::numeric_limits<V>::lowest();
}
template <typename V>
KILN_HD V highest() {
  if constexpr (std::is_floating_point<V>::value) return std::numeric_limits<V>::infinity();
  else return std::numeric_limits<V>::max();
}
}  // namespace rmath

template <typename T>
struct SumOp {
  using acc_t = sum_acc_t<T>;
  using out_t = sum_out_t<T>;
  static constexpr bool kIndexed = false;
  KILN_HD acc_t identity() const { return acc_t(0); }
  KILN_HD acc_t reduce(acc_t a, opmath_t<T> x, int64_t) const { return a + static_cast<acc_t>(x); }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return a + b; }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(a); }
};

/// Sum divided by the row length; an empty row gives 0/0 = nan, as torch.
template <typename T>
struct MeanOp {
  using acc_t = opmath_t<T>;
  using out_t = T;
  static constexpr bool kIndexed = false;
  int64_t count;
  KILN_HD acc_t identity() const { return acc_t(0); }
  KILN_HD acc_t reduce(acc_t a, acc_t x, int64_t) const { return a + x; }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return a + b; }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(a / static_cast<acc_t>(count)); }
};

template <typename T>
struct ProdOp {
  using acc_t = sum_acc_t<T>;
  using out_t = sum_out_t<T>;
  static constexpr bool kIndexed = false;
  KILN_HD acc_t identity() const { return acc_t(1); }
  KILN_HD acc_t reduce(acc_t a, opmath_t<T> x, int64_t) const { return a * static_cast<acc_t>(x); }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return a * b; }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(a); }
};

/// Max (kMax) or min of values; a NaN anywhere makes the result NaN.
template <typename T, bool kMax>
struct ExtremeOp {
  using acc_t = opmath_t<T>;
  using out_t = T;
  static constexpr bool kIndexed = false;
  KILN_HD acc_t identity() const { return kMax ? rmath::lowest<acc_t>() : rmath::highest<acc_t>(); }
  KILN_HD acc_t reduce(acc_t a, acc_t x, int64_t) const { return combine(a, x); }
  KILN_HD acc_t combine(acc_t a, acc_t b) const {
    if (rmath::isnan(a)) return a;
    if (rmath::isnan(b)) return b;
    return (kMax ? b > a : b < a) ? b : a;
  }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(a); }
};

/// A value with the index it came from; i < 0 marks "no element yet".
template <typename V>
struct ValIdx {
  V v;
  int64_t i;
};

/// Max/min with the index of its first occurrence (the first NaN when there is one), as torch.max(dim).
template <typename T, bool kMax>
struct ArgExtremeOp {
  using V = opmath_t<T>;
  using acc_t = ValIdx<V>;
  using out_t = T;
  static constexpr bool kIndexed = true;
  KILN_HD static bool better(V a, V b) { return kMax ? a > b : a < b; }
  KILN_HD acc_t identity() const { return acc_t{V(0), -1}; }
  KILN_HD acc_t reduce(acc_t a, V x, int64_t k) const {
    // Elements of one accumulator arrive in increasing k, so keeping `a` on ties keeps the first.
    if (a.i < 0 || (!rmath::isnan(a.v) && (rmath::isnan(x) || better(x, a.v)))) return acc_t{x, k};
    return a;
  }
  KILN_HD acc_t combine(acc_t a, acc_t b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool an = rmath::isnan(a.v), bn = rmath::isnan(b.v);
    if (an != bn) return an ? a : b;
    if (!an) {
      if (better(a.v, b.v)) return a;
      if (better(b.v, a.v)) return b;
    }
    return a.i <= b.i ? a : b;
  }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(a.v); }
};

/// Welford's running mean and sum of squared deviations; combine is Chan's parallel update.
template <typename A>
struct WelfordAcc {
  A mean, m2;
  int64_t n;
};

/// Variance (or its square root) with Bessel-style correction: m2 / max(0, n - correction). Floating inputs
/// accumulate in double: in float32, the running mean of data far from zero (arange(1000) * 0.001 + 1e4) keeps
/// too few bits of the deviations, and the variance came out 4.5% high.
template <typename T, bool kSqrt>
struct VarOp {
  using A = std::conditional_t<std::is_floating_point<opmath_t<T>>::value, double, opmath_t<T>>;
  using acc_t = WelfordAcc<A>;
  using out_t = T;
  static constexpr bool kIndexed = false;
  double correction;
  KILN_HD acc_t identity() const { return acc_t{A(0), A(0), 0}; }
  KILN_HD acc_t reduce(acc_t a, A x, int64_t) const {
    a.n += 1;
    A d = x - a.mean;
    a.mean += d / static_cast<A>(a.n);
    a.m2 += d * (x - a.mean);
    return a;
  }
  KILN_HD acc_t combine(acc_t a, acc_t b) const {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    int64_t n = a.n + b.n;
    A d = b.mean - a.mean;
    A wb = static_cast<A>(b.n) / static_cast<A>(n);
    return acc_t{a.mean + d * wb, a.m2 + b.m2 + d * d * static_cast<A>(a.n) * wb, n};
  }
  KILN_HD out_t project(acc_t a) const {
    double dof = static_cast<double>(a.n) - correction;
    A v = a.m2 / static_cast<A>(dof > 0 ? dof : 0.0);
    return static_cast<out_t>(kSqrt ? rmath::sqrt(v) : v);
  }
};

/// Which vector norm NormOp computes; the modes other than General avoid pow.
enum class NormMode : int { Zero, One, Two, General };

/// sum(f(|x|)) then g: count of nonzeros (p=0), sum |x| (p=1), sqrt(sum x^2) (p=2), (sum |x|^p)^(1/p).
template <typename T, NormMode kMode>
struct NormOp {
  using acc_t = opmath_t<T>;
  using out_t = T;
  static constexpr bool kIndexed = false;
  acc_t p;
  KILN_HD acc_t identity() const { return acc_t(0); }
  KILN_HD acc_t reduce(acc_t a, acc_t x, int64_t) const {
    if (kMode == NormMode::Zero) return a + (x != acc_t(0) ? acc_t(1) : acc_t(0));
    if (kMode == NormMode::One) return a + rmath::abs(x);
    if (kMode == NormMode::Two) return a + x * x;
    return a + rmath::pow(rmath::abs(x), p);
  }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return a + b; }
  KILN_HD out_t project(acc_t a) const {
    if (kMode == NormMode::Two) return static_cast<out_t>(rmath::sqrt(a));
    if (kMode == NormMode::General) return static_cast<out_t>(rmath::pow(a, acc_t(1) / p));
    return static_cast<out_t>(a);
  }
};

/// max |x| (inf-norm) or min |x| (-inf-norm), NaN propagating.
template <typename T, bool kMax>
struct AbsExtremeOp {
  using acc_t = opmath_t<T>;
  using out_t = T;
  static constexpr bool kIndexed = false;
  ExtremeOp<T, kMax> inner;
  KILN_HD acc_t identity() const { return kMax ? acc_t(0) : rmath::highest<acc_t>(); }
  KILN_HD acc_t reduce(acc_t a, acc_t x, int64_t) const { return inner.combine(a, rmath::abs(x)); }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return inner.combine(a, b); }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(a); }
};

/// Online log-sum-exp: the running max m and sum s of exp(x - m). -inf elements add nothing, so a row
/// of -inf gives -inf (not nan); +inf gives +inf; NaN propagates.
template <typename A>
struct LseAcc {
  A m, s;
};
template <typename A>
KILN_HD LseAcc<A> lse_combine(LseAcc<A> a, LseAcc<A> b) {
  if (rmath::isnan(a.m)) return a;
  if (rmath::isnan(b.m)) return b;
  if (b.s == A(0)) return a;  // b saw no finite-weight element
  if (a.s == A(0)) return b;
  if (a.m == b.m) return LseAcc<A>{a.m, a.s + b.s};  // also +inf with +inf, where m - m would be nan
  if (a.m > b.m) return LseAcc<A>{a.m, a.s + b.s * rmath::exp(b.m - a.m)};
  return LseAcc<A>{b.m, b.s + a.s * rmath::exp(a.m - b.m)};
}

template <typename T>
struct LogSumExpOp {
  using A = opmath_t<T>;
  using acc_t = LseAcc<A>;
  using out_t = T;
  static constexpr bool kIndexed = false;
  KILN_HD acc_t identity() const { return acc_t{rmath::lowest<A>(), A(0)}; }
  KILN_HD acc_t reduce(acc_t a, A x, int64_t) const {
    if (rmath::isnan(x)) return acc_t{x, A(1)};
    if (x == rmath::lowest<A>()) return a;
    return lse_combine(a, acc_t{x, A(1)});
  }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return lse_combine(a, b); }
  KILN_HD static A value(acc_t a) {
    if (rmath::isnan(a.m) || a.s == A(0) || a.m == rmath::highest<A>()) return a.m;
    return a.m + rmath::log(a.s);
  }
  KILN_HD out_t project(acc_t a) const { return static_cast<out_t>(value(a)); }
};

/// any (kAny) / all of x != 0; NaN counts as true.
template <typename T, bool kAny>
struct AnyAllOp {
  using acc_t = bool;
  using out_t = bool;
  static constexpr bool kIndexed = false;
  KILN_HD acc_t identity() const { return !kAny; }
  KILN_HD acc_t reduce(acc_t a, opmath_t<T> x, int64_t) const {
    bool nz = x != opmath_t<T>(0);
    return kAny ? (a || nz) : (a && nz);
  }
  KILN_HD acc_t combine(acc_t a, acc_t b) const { return kAny ? (a || b) : (a && b); }
  KILN_HD out_t project(acc_t a) const { return a; }
};

/// Writes a row's result: the value (when out is set) and, for indexed ops, the index (when idx is set).
template <typename Op>
KILN_HD void store_result(const Op& op, const typename Op::acc_t& acc, typename Op::out_t* out, int64_t* idx,
                          int64_t r) {
  if (out) out[r] = op.project(acc);
  if constexpr (Op::kIndexed) {
    if (idx) idx[r] = acc.i;
  }
}

// ---- softmax row math: given a row's max m and sum s of exp(x - m) ----
// A +inf in a row makes the whole row NaN (exp(inf - inf) enters the sum), as torch; the online
// (single-read) GPU pass would not see that NaN by itself, so make() applies the rule for both.
template <typename A>
struct SoftmaxFn {
  A m, inv_s;
  KILN_HD static SoftmaxFn make(A m, A s) {
    return SoftmaxFn{m, m == rmath::highest<A>() ? m - m : A(1) / s};
  }
  KILN_HD A operator()(A x) const { return rmath::exp(x - m) * inv_s; }
};
template <typename A>
struct LogSoftmaxFn {
  // (x - m) - log(s), not x - (m + log(s)): for large logits m + log(s) rounds to m's coarse spacing, and
  // the small log(s) would be lost (float32 logits near 1e4 keep only ~3 decimals that way).
  A m, log_s;
  KILN_HD static LogSoftmaxFn make(A m, A s) {
    return LogSoftmaxFn{m, m == rmath::highest<A>() ? m - m : rmath::log(s)};
  }
  KILN_HD A operator()(A x) const { return (x - m) - log_s; }
};
/// Backward given the row's dot = sum(g * y) (softmax) or sum(g) (log_softmax).
template <typename A, bool kLog>
struct SoftmaxBackwardFn {
  A dot;
  KILN_HD A operator()(A g, A y) const { return kLog ? g - rmath::exp(y) * dot : y * (g - dot); }
};
}  // namespace kiln::ops
