// Scalar: a number passed to an op (a + 2.5), kept as double, int64 or bool until the op picks its dtype.
#pragma once
#include <cstdint>
#include <ostream>
#include <type_traits>

#include "kiln/core/dtype.h"

namespace kiln {

class Scalar {
 public:
  enum class Kind : int8_t { Bool, Int, Float };
  Scalar() : kind_(Kind::Int), i_(0) {}
  Scalar(bool v) : kind_(Kind::Bool), i_(v) {}
  template <typename T, std::enable_if_t<std::is_integral<T>::value && !std::is_same<T, bool>::value, int> = 0>
  Scalar(T v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)) {}
  template <typename T, std::enable_if_t<std::is_floating_point<T>::value, int> = 0>
  Scalar(T v) : kind_(Kind::Float), d_(static_cast<double>(v)) {}
  Scalar(Half v) : kind_(Kind::Float), d_(static_cast<float>(v)) {}
  Scalar(BFloat16 v) : kind_(Kind::Float), d_(static_cast<float>(v)) {}

  Kind kind() const { return kind_; }
  bool is_floating_point() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ == Kind::Int; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  double to_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  int64_t to_long() const { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }
  template <typename T> T to() const {
    if constexpr (std::is_same<T, bool>::value) return to_double() != 0.0;
    else if constexpr (std::is_integral<T>::value) return static_cast<T>(to_long());
    else return static_cast<T>(to_double());
  }
  // libtorch's spellings: x.item().toDouble(), toFloat(), toLong(), toInt(), toBool().
  double toDouble() const { return to_double(); }
  float toFloat() const { return static_cast<float>(to_double()); }
  int64_t toLong() const { return to_long(); }
  int toInt() const { return static_cast<int>(to_long()); }
  bool toBool() const { return to<bool>(); }
  bool isFloatingPoint() const { return is_floating_point(); }
  bool isIntegral(bool include_bool = false) const { return is_integral() || (include_bool && is_bool()); }
  /// The dtype a tensor made from this scalar alone would have (bool, int64 or float32).
  DType dtype() const { return kind_ == Kind::Bool ? kBool : kind_ == Kind::Int ? kInt64 : kFloat32; }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

inline std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  if (s.is_floating_point()) return os << s.to_double();
  if (s.is_bool()) return os << (s.to_long() ? "True" : "False");
  return os << s.to_long();
}
}  // namespace kiln
