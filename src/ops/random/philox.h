// Philox4x32-10, a counter-based generator: element i of a draw depends only on (seed, offset + i),
// and the transforms use only exact_math.h, so CPU loops and CUDA threads produce bit-identical random tensors.
#pragma once
#include <cstdint>

#include "kiln/core/macros.h"
#include "ops/random/exact_math.h"

namespace kiln::ops {

struct Philox4 {
  uint32_t v[4];
};

KILN_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

/// Four 32-bit random words for (seed, counter).
KILN_HD Philox4 philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

/// Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
KILN_HD float uniform_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
KILN_HD double uniform_double(uint32_t a, uint32_t b) {
  uint64_t bits = (static_cast<uint64_t>(a) << 21) ^ (static_cast<uint64_t>(b) >> 11);
  return static_cast<double>(bits & ((1ULL << 53) - 1)) * (1.0 / 9007199254740992.0);
}

enum class RandomKind : int { Uniform, Normal, Int, Bernoulli };

/// Element i of a random draw, in double before conversion to the tensor's dtype. The same function, with
/// the same bits, on every device (exact_math.h): no platform log/cos, no fused multiply-adds.
/// Uniform: lo + (hi-lo)*u; Normal: a + b*z (Box-Muller); Int: lo + floor(u*(hi-lo)); Bernoulli: u < a.
KILN_HD double random_value(RandomKind kind, double a, double b, uint64_t seed, uint64_t offset, int64_t i) {
  namespace x = exact;
  Philox4 r = philox(seed, offset / 4 + static_cast<uint64_t>(i));
  double u = uniform_double(r.v[0], r.v[1]);
  switch (kind) {
    case RandomKind::Uniform: return x::add(a, x::mul(x::sub(b, a), u));
    case RandomKind::Normal: {
      double u1 = 1.0 - u;  // (0, 1], safe for log
      double u2 = uniform_double(r.v[2], r.v[3]);
      double z = x::mul(x::sqrt(x::mul(-2.0, x::log(u1))), x::cos_2pi(u2));
      return x::add(a, x::mul(b, z));
    }
    case RandomKind::Int: {
      double span = x::sub(b, a);
      double v = x::add(a, static_cast<double>(static_cast<int64_t>(x::mul(u, span))));
      return v < b ? v : b - 1;
    }
    case RandomKind::Bernoulli: return u < a ? 1.0 : 0.0;
  }
  return 0.0;
}
}  // namespace kiln::ops
