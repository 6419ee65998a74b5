// CPU tests of the random generators' device-independent math: exact_math.h against libm, and the CPU kernel
// computing exactly random_value, the KILN_HD function the CUDA kernel runs (so both give the same bits).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "kiln/tensor/ops/creation.h"
#include "ops/random/random_kernels.h"

namespace {
namespace x = kiln::ops::exact;

int64_t ulps(double a, double b) {
  int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  return ia > ib ? ia - ib : ib - ia;
}

TEST(RandomExactMath, LogMatchesLibmToAFewUlps) {
  std::mt19937_64 rng(1);
  int64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    // Box-Muller's range (0, 1], dense near 1 and down to 2^-53, plus a few far outside it.
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    const double v = i % 3 == 0 ? 1.0 - u : (i % 3 == 1 ? std::ldexp(1.0 + u, -(i % 53)) : std::ldexp(1.0 + u, i % 40));
    if (v <= 0 || v == 1.0) continue;
    worst = std::max(worst, ulps(x::log(v), std::log(v)));
  }
  EXPECT_EQ(x::log(1.0), 0.0);
  EXPECT_LE(worst, 4);
}

TEST(RandomExactMath, Cos2PiMatchesLibm) {
  std::mt19937_64 rng(2);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    worst = std::max(worst, std::fabs(x::cos_2pi(u) - std::cos(6.283185307179586 * u)));
  }
  EXPECT_LE(worst, 1e-15);
  EXPECT_EQ(x::cos_2pi(0.0), 1.0);
  EXPECT_EQ(x::cos_2pi(0.5), -1.0);
  EXPECT_EQ(x::cos_2pi(0.25), 0.0);
}

TEST(RandomExactMath, CpuKernelComputesTheSharedFunctionBitForBit) {
  using kiln::ops::RandomKind;
  const RandomKind kinds[] = {RandomKind::Normal, RandomKind::Uniform, RandomKind::Int, RandomKind::Bernoulli};
  const double as[] = {0.5, -2.0, 3.0, 0.3}, bs[] = {2.0, 5.0, 1000.0, 0.0};
  for (int k = 0; k < 4; ++k) {
    kiln::Tensor out = kiln::empty({4099}, kiln::TensorOptions(kiln::kFloat64));
    kiln::ops::RandomParams p{kinds[k], as[k], bs[k], 1234, 8, {}};
    kiln::ops::random_stub(kiln::DeviceType::CPU, out, p);
    const double* o = out.data_ptr<double>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      const double want = kiln::ops::random_value(kinds[k], as[k], bs[k], 1234, 8, i);
      ASSERT_EQ(ulps(o[i], want), 0) << "kind " << k << " element " << i;
    }
  }
  // The Normal transform is the documented one: a + b * sqrt(-2 log(1 - u1)) * cos(2 pi u2), to rounding.
  const auto r = kiln::ops::philox(1234, 8 / 4 + 7);
  const double u1 = kiln::ops::uniform_double(r.v[0], r.v[1]), u2 = kiln::ops::uniform_double(r.v[2], r.v[3]);
  const double z = std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(6.283185307179586 * u2);
  EXPECT_NEAR(kiln::ops::random_value(RandomKind::Normal, 0.0, 1.0, 1234, 8, 7), z, 1e-14);
}

}  // namespace
