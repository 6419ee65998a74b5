// 16-bit floating types (IEEE half and bfloat16) stored as bits and computed as float on host and device.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>

#include "kiln/core/macros.h"

namespace kiln {
namespace detail {
KILN_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
KILN_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

/// float -> IEEE binary16 bits, round to nearest even, with overflow to inf and NaN kept a NaN.
KILN_HD uint16_t float_to_half_bits(float f) {
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (absx < 0x38800000u) {  // subnormal half (or zero)
    // value = absx as float; half subnormal unit is 2^-24
    float af = bits_float(absx);
    float scaled = af * 16777216.0f;  // / 2^-24, exact for this range
    // round half to even
    uint32_t r = static_cast<uint32_t>(scaled);
    float rem = scaled - static_cast<float>(r);
    if (rem > 0.5f || (rem == 0.5f && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t exp = ((absx >> 23) - 112u) << 10;
  uint32_t mant = (absx >> 13) & 0x3ffu;
  uint32_t h = exp | mant;
  uint32_t rest = absx & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

KILN_HD float half_bits_to_float(uint16_t h) {
  uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;  // 2^-24
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

/// float -> bfloat16 bits, round to nearest even, NaN kept a quiet NaN.
KILN_HD uint16_t float_to_bf16_bits(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}
KILN_HD float bf16_bits_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }
}  // namespace detail

/// IEEE 754 binary16. Arithmetic converts to float; store converts back with round-to-nearest-even.
struct alignas(2) Half {
  uint16_t x = 0;
  Half() = default;
  struct FromBits {};
  KILN_HD constexpr Half(uint16_t bits, FromBits) : x(bits) {}
  KILN_HD Half(float f) : x(detail::float_to_half_bits(f)) {}
  KILN_HD Half(double d) : Half(static_cast<float>(d)) {}
  KILN_HD Half(int v) : Half(static_cast<float>(v)) {}
  KILN_HD Half(int64_t v) : Half(static_cast<float>(v)) {}
  KILN_HD operator float() const { return detail::half_bits_to_float(x); }
};

/// bfloat16: the top 16 bits of a float32.
struct alignas(2) BFloat16 {
  uint16_t x = 0;
  BFloat16() = default;
  struct FromBits {};
  KILN_HD constexpr BFloat16(uint16_t bits, FromBits) : x(bits) {}
  KILN_HD BFloat16(float f) : x(detail::float_to_bf16_bits(f)) {}
  KILN_HD BFloat16(double d) : BFloat16(static_cast<float>(d)) {}
  KILN_HD BFloat16(int v) : BFloat16(static_cast<float>(v)) {}
  KILN_HD BFloat16(int64_t v) : BFloat16(static_cast<float>(v)) {}
  KILN_HD operator float() const { return detail::bf16_bits_to_float(x); }
};

inline std::ostream& operator<<(std::ostream& os, Half h) { return os << static_cast<float>(h); }
inline std::ostream& operator<<(std::ostream& os, BFloat16 h) { return os << static_cast<float>(h); }

}  // namespace kiln
