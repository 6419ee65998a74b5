// Binary and ternary pointwise math (arithmetic, comparisons, logic, where, addcmul, ...), shared by CPU and CUDA.
#pragma once
#include <cmath>
#include <limits>
#include <type_traits>

#include "kiln/core/dtype.h"

namespace kiln::ops {

/// NaN test that also compiles (to false) for integer and bool types, on host and device.
template <typename T>
KILN_HD bool is_nan_value(T v) {
  if constexpr (std::is_floating_point<T>::value)
    return v != v;
  else
    return false;
}
template <typename T>
KILN_HD bool is_inf_value(T v) {
  if constexpr (std::is_floating_point<T>::value)
    return v == std::numeric_limits<T>::infinity() || v == -std::numeric_limits<T>::infinity();
  else
    return false;
}
/// v < 0 without a "comparison always false" warning for unsigned types.
template <typename T>
KILN_HD bool is_negative_value(T v) {
  if constexpr (std::is_signed<T>::value)
    return v < T(0);
  else
    return false;
}

// ---- arithmetic ----
template <typename T>
struct AddFn {  // a + alpha*b; alpha is 1 for plain add, -alpha for sub (exact, as torch does)
  T alpha;
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_same<T, bool>::value)
      return a || (alpha && b);
    else
      return a + alpha * b;
  }
};
template <typename T>
struct MulFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_same<T, bool>::value)
      return a && b;
    else
      return a * b;
  }
};
template <typename T>
struct DivFn {
  KILN_HD T operator()(T a, T b) const { return a / b; }
};

/// Integer power by squaring, wrapping on overflow; negative exponents follow torch (1, -1 exact, else 0).
template <typename T>
KILN_HD T int_pow(T base, T exp) {
  if (is_negative_value(exp)) {
    if (base == T(1)) return T(1);
    if constexpr (std::is_signed<T>::value)
      if (base == T(-1)) return (exp & 1) ? T(-1) : T(1);
    return T(0);
  }
  using U = std::make_unsigned_t<T>;  // unsigned arithmetic wraps without undefined behaviour
  U b = static_cast<U>(base), r = 1;
  while (exp) {
    if (exp & 1) r = static_cast<U>(r * b);
    b = static_cast<U>(b * b);
    exp >>= 1;
  }
  return static_cast<T>(r);
}
template <typename T>
struct PowFn {
  KILN_HD T operator()(T a, T e) const {
    if constexpr (std::is_floating_point<T>::value) {
      if (e == T(2)) return a * a;  // the common case, exact like pow and much cheaper
      return std::pow(a, e);
    } else {
      return int_pow(a, e);
    }
  }
};

/// Python's %: the result takes the divisor's sign. An integer zero divisor is refused by the front end on
/// every device before the kernel runs (remainder in binary_more.cpp, the only caller); here it gives 0
/// rather than trapping.
template <typename T>
struct RemainderFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) {
      T m = std::fmod(a, b);
      if (m != T(0) && (b < T(0)) != (m < T(0))) m += b;
      return m;
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed<T>::value) {
        if (b == T(-1)) return T(0);  // INT_MIN % -1 traps on x86
        T m = static_cast<T>(a % b);
        if (m != T(0) && (b < T(0)) != (m < T(0))) m = static_cast<T>(m + b);
        return m;
      } else {
        return static_cast<T>(a % b);
      }
    }
  }
};

/// C's fmod: the result takes the dividend's sign. An integer zero divisor is refused by the front end (fmod in
/// divide_modes.cpp); here it gives 0 rather than trapping.
template <typename T>
struct FmodFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) {
      return std::fmod(a, b);
    } else {
      if (b == T(0)) return T(0);
      if constexpr (std::is_signed<T>::value)
        if (b == T(-1)) return T(0);  // INT_MIN % -1 traps on x86
      return static_cast<T>(a % b);
    }
  }
};

/// Integer a / b rounded toward zero, without the traps: INT_MIN / -1 wraps to INT_MIN as torch's does, and a
/// zero divisor (refused by the front end on every device) gives 0.
template <typename T>
KILN_HD T int_div_trunc(T a, T b) {
  if (b == T(0)) return T(0);
  if constexpr (std::is_signed<T>::value)
    if (b == T(-1)) {
      using U = std::make_unsigned_t<T>;
      return static_cast<T>(static_cast<U>(U(0) - static_cast<U>(a)));
    }
  return static_cast<T>(a / b);
}

/// torch.div(a, b, rounding_mode="trunc").
template <typename T>
struct DivTruncFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value)
      return std::trunc(a / b);
    else
      return int_div_trunc(a, b);
  }
};

/// torch.div(a, b, rounding_mode="floor"). Floating values follow Python's float floor division (as torch's
/// div_floor_floating): the quotient of (a - fmod(a, b)) / b is exact where a / b would round to the wrong side.
template <typename T>
struct DivFloorFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value) {
      if (b == T(0)) return a / b;
      T mod = std::fmod(a, b);
      T div = (a - mod) / b;
      if (mod != T(0) && (b < T(0)) != (mod < T(0))) div -= T(1);
      if (div == T(0)) return std::copysign(T(0), a / b);
      T fl = std::floor(div);
      if (div - fl > T(0.5)) fl += T(1);
      return fl;
    } else {
      T q = int_div_trunc(a, b);
      if constexpr (std::is_signed<T>::value)
        if (b != T(0) && b != T(-1) && (a % b != T(0)) && ((a < T(0)) != (b < T(0)))) q = static_cast<T>(q - T(1));
      return q;
    }
  }
};

/// maximum/minimum propagate NaN, like torch.maximum.
template <typename T>
struct MaximumFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_same<T, bool>::value)
      return a || b;
    else {
      if (is_nan_value(a)) return a;
      if (is_nan_value(b)) return b;
      return a > b ? a : b;
    }
  }
};
template <typename T>
struct MinimumFn {
  KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_same<T, bool>::value)
      return a && b;
    else {
      if (is_nan_value(a)) return a;
      if (is_nan_value(b)) return b;
      return a < b ? a : b;
    }
  }
};

/// atan2(a, b): the angle of the point (b, a), in [-pi, pi] (floating T only).
template <typename T>
struct Atan2Fn {
  KILN_HD T operator()(T a, T b) const { return std::atan2(a, b); }
};

/// Builds functor F from the kernel's one parameter, alpha (add's scale): the others ignore it.
template <typename F, typename T>
struct BinaryFnFactory {
  static F make(T) { return F{}; }
};
template <typename T>
struct BinaryFnFactory<AddFn<T>, T> {
  static AddFn<T> make(T alpha) { return AddFn<T>{alpha}; }
};

/// f(a, s): a binary functor with its second operand fixed to a scalar.
template <typename F, typename T>
struct ScalarRhs {
  F f;
  T s;
  KILN_HD T operator()(T a) const { return f(a, s); }
};
/// f(s, a): the scalar is the first operand (rsub, scalar ** tensor).
template <typename F, typename T>
struct ScalarLhs {
  F f;
  T s;
  KILN_HD T operator()(T a) const { return f(s, a); }
};

// ---- comparisons and logic (bool results) ----
struct EqFn {
  template <typename T>
  KILN_HD bool operator()(T a, T b) const {
    return a == b;
  }
};
struct NeFn {
  template <typename T>
  KILN_HD bool operator()(T a, T b) const {
    return a != b;
  }
};
struct LtFn {
  template <typename T>
  KILN_HD bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LeFn {
  template <typename T>
  KILN_HD bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct GtFn {
  template <typename T>
  KILN_HD bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GeFn {
  template <typename T>
  KILN_HD bool operator()(T a, T b) const {
    return a >= b;
  }
};
/// a op s for a comparison functor.
template <typename F, typename T>
struct CompareScalarFn {
  F f;
  T s;
  KILN_HD bool operator()(T a) const { return f(a, s); }
};

struct AndFn {
  KILN_HD bool operator()(bool a, bool b) const { return a && b; }
};
struct OrFn {
  KILN_HD bool operator()(bool a, bool b) const { return a || b; }
};
struct XorFn {
  KILN_HD bool operator()(bool a, bool b) const { return a != b; }
};
struct NotFn {
  KILN_HD bool operator()(bool a) const { return !a; }
};

/// torch.isclose: equal values (infinities included) are close; NaN only matches NaN with equal_nan;
/// otherwise |a - b| <= atol + rtol*|b| in the operands' precision (integers in double).
template <typename T>
struct IscloseFn {
  double rtol, atol;
  bool equal_nan;
  KILN_HD bool operator()(T a, T b) const {
    if (a == b) return true;
    if constexpr (std::is_same<T, bool>::value) {
      return false;
    } else if constexpr (std::is_floating_point<T>::value) {
      if (is_nan_value(a) || is_nan_value(b)) return equal_nan && is_nan_value(a) && is_nan_value(b);
      if (is_inf_value(a) || is_inf_value(b)) return false;
      T diff = a > b ? a - b : b - a;
      T rb = static_cast<T>(rtol) * b;
      return diff <= static_cast<T>(atol) + (rb < T(0) ? -rb : rb);
    } else {
      double da = static_cast<double>(a), db = static_cast<double>(b);
      double diff = da > db ? da - db : db - da;
      return diff <= atol + rtol * (db < 0 ? -db : db);
    }
  }
};

// ---- selection ----
struct WhereFn {
  template <typename T>
  KILN_HD T operator()(bool c, T a, T b) const {
    return c ? a : b;
  }
};
/// cond == when ? value : a (masked_fill is when = true, where(c, a, scalar) is when = false).
template <typename T>
struct SelectScalarFn {
  T value;
  bool when;
  KILN_HD T operator()(bool c, T a) const { return c == when ? value : a; }
};

// ---- optimizer building blocks (torch's operation order, so results match bit for bit) ----
template <typename T>
struct AddcmulFn {
  T s;
  KILN_HD T operator()(T self, T a, T b) const { return self + s * a * b; }
};
template <typename T>
struct AddcdivFn {
  T s;
  KILN_HD T operator()(T self, T a, T b) const { return self + s * a / b; }
};
/// torch.lerp's two-sided formula, exact at w = 0 and w = 1.
template <typename T>
struct LerpFn {
  T w;
  KILN_HD T operator()(T self, T end) const {
    T aw = w < T(0) ? -w : w;
    return aw < T(0.5) ? self + w * (end - self) : end - (end - self) * (T(1) - w);
  }
};
}  // namespace kiln::ops
