// Which element values a value check accepts. Shared by the CPU loop and the CUDA kernel (KILN_HD), so the
// CPU tests check the rule the GPU applies.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"

namespace kiln::ops {

struct ValueRule {
  enum Kind : int32_t {
    IntRange,    // lo <= v <= hi, or v == allowed when has_allowed (class targets with an ignore_index)
    FloatRange,  // flo <= v <= fhi; NaN fails (probabilities)
    NonZero,     // v != 0 (integer divisors)
  };
  Kind kind = IntRange;
  int64_t lo = 0, hi = 0, allowed = 0;
  bool has_allowed = false;
  double flo = 0, fhi = 0;

  static ValueRule int_range(int64_t lo, int64_t hi) {
    ValueRule r;
    r.lo = lo;
    r.hi = hi;
    return r;
  }
  static ValueRule float_range(double lo, double hi) {
    ValueRule r;
    r.kind = FloatRange;
    r.flo = lo;
    r.fhi = hi;
    return r;
  }
  static ValueRule non_zero() {
    ValueRule r;
    r.kind = NonZero;
    return r;
  }
  ValueRule& or_equal(int64_t v) {
    has_allowed = true;
    allowed = v;
    return *this;
  }

  template <typename T>
  KILN_HD bool accepts(T v) const {
    if constexpr (std::is_integral<T>::value) {
      const int64_t x = static_cast<int64_t>(v);
      if (kind == NonZero) return x != 0;
      return (x >= lo && x <= hi) || (has_allowed && x == allowed);
    } else {
      const double x = static_cast<double>(static_cast<opmath_t<T>>(v));
      if (kind == NonZero) return x != 0;
      return x >= flo && x <= fhi;  // false for NaN
    }
  }
};
}  // namespace kiln::ops
