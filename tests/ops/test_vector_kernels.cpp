// The Highway vector kernels (src/ops/simd/) against the scalar functors they stand in for, on every target
// compiled in that this CPU runs (AVX-512, AVX2, the portable fallback): math within a few ulp with the
// C library's special values, Adam and the bfloat16 casts bit for bit, tails of every length, in place.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kiln/core/half.h"
#include "ops/optim/optim_functors.h"
#include "ops/pointwise/unary_functors.h"
#include "ops/simd/vector_kernels.h"

namespace kiln::ops {
namespace {
using simd::VecUnary;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// Runs the body once per supported target, then restores the best.
template <typename F>
void for_each_target(const F& body) {
  auto targets = simd::supported_targets();
  ASSERT_FALSE(targets.empty());
  for (const auto& t : targets) {
    SCOPED_TRACE("target " + t);
    simd::use_target_for_test(t);
    EXPECT_EQ(simd::target_name(), t);
    body();
  }
  simd::use_target_for_test("");
}

/// Distance in representable floats (0 for equal values and for two NaNs; huge for NaN against a number).
int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? int64_t(INT32_MIN) - i : int64_t(i);
  };
  return std::llabs(ordered(a) - ordered(b));
}

std::vector<float> test_inputs(float lo, float hi) {
  std::vector<float> v = {0.f,     -0.f,       1.f,        -1.f,        kInf,   -kInf,  kNaN,  -kNaN,
                          3.4e38f, -3.4e38f,   1.18e-38f,  1e-45f,      -1e-45f, 88.7228317f, 88.7228394f,
                          88.8f,   100.f,      104.f,      105.f,       1000.f, -87.3f, -100.f, -103.9f,
                          -104.f,  -105.f,     -1000.f,    1e-7f,       -1e-7f, 9.5f,   -9.5f, 20.f,  -20.f};
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> uni(lo, hi);
  std::uniform_real_distribution<float> expo(-40.f, 40.f);
  for (int i = 0; i < 20000; ++i) v.push_back(uni(gen));
  for (int i = 0; i < 2000; ++i) v.push_back(std::exp2(expo(gen)));  // positives of every scale (log)
  return v;
}

struct TwinCase {
  VecUnary op;
  const char* name;
  float (*scalar)(float);
  int64_t max_ulp;
};
const TwinCase kTwins[] = {
    {VecUnary::Exp, "exp", [](float x) { return ExpFn{}(x); }, 2},
    {VecUnary::Log, "log", [](float x) { return LogFn{}(x); }, 4},
    {VecUnary::Tanh, "tanh", [](float x) { return TanhFn{}(x); }, 5},
    {VecUnary::Sigmoid, "sigmoid", [](float x) { return SigmoidFn{}(x); }, 3},
    {VecUnary::Silu, "silu", [](float x) { return SiluFn{}(x); }, 3},
};

TEST(VectorKernels, UnaryMatchesScalarFunctorOnEveryTarget) {
  const auto in = test_inputs(-110.f, 110.f);
  for_each_target([&] {
    for (const auto& c : kTwins) {
      SCOPED_TRACE(c.name);
      std::vector<float> out(in.size());
      simd::unary_f32(c.op, in.data(), out.data(), static_cast<int64_t>(in.size()));
      int64_t worst = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        int64_t d = ulp_distance(out[i], c.scalar(in[i]));
        ASSERT_LE(d, c.max_ulp) << "x = " << in[i] << ": vector " << out[i] << ", scalar " << c.scalar(in[i]);
        worst = std::max(worst, d);
      }
      RecordProperty(std::string(c.name) + "_worst_ulp", static_cast<int>(worst));
    }
  });
}

TEST(VectorKernels, UnaryTailsAndInPlace) {
  for_each_target([&] {
    for (int64_t n = 0; n <= 37; ++n) {
      std::vector<float> x(n + 1), y(n + 1, 123.f);
      for (int64_t i = 0; i < n; ++i) x[i] = 0.25f * static_cast<float>(i) - 3.f;
      simd::unary_f32(VecUnary::Exp, x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_LE(ulp_distance(y[i], std::exp(x[i])), 2) << n << " " << i;
      EXPECT_EQ(y[n], 123.f) << "wrote past the end, n = " << n;
      simd::unary_f32(VecUnary::Exp, x.data(), x.data(), n);  // in place
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(x[i], y[i]);
    }
  });
}

TEST(VectorKernels, RowReductions) {
  for_each_target([&] {
    for (int64_t n : {0, 1, 7, 8, 9, 16, 17, 31, 1000, 1027}) {
      std::vector<float> x(n), y(n);
      std::mt19937 gen(static_cast<unsigned>(n));
      std::normal_distribution<float> nd(0.f, 5.f);
      for (auto& v : x) v = nd(gen);
      float m = -kInf;
      for (float v : x) m = std::max(m, v);
      EXPECT_EQ(simd::max_f32(x.data(), n), m) << n;
      double ref = 0;
      for (float v : x) ref += std::exp(static_cast<double>(v - m));
      float s = simd::exp_sum_f32(x.data(), m, y.data(), n);
      EXPECT_NEAR(s, ref, 2e-5 * ref) << n;  // a float sum over n terms (one lane on the scalar target)
      EXPECT_EQ(simd::exp_sum_f32(x.data(), m, nullptr, n), s) << "the sum must not depend on storing";
      for (int64_t i = 0; i < n; ++i) EXPECT_LE(ulp_distance(y[i], std::exp(x[i] - m)), 2);
      if (n > 0) {
        x[n / 2] = kNaN;
        EXPECT_TRUE(std::isnan(simd::max_f32(x.data(), n))) << "a NaN anywhere gives NaN, n = " << n;
      }
      std::vector<float> z(y);
      simd::scale_f32(z.data(), 0.5f, n);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(z[i], y[i] * 0.5f);
    }
    EXPECT_EQ(simd::max_f32(nullptr, 0), -kInf);
    EXPECT_EQ(simd::exp_sum_f32(nullptr, 0.f, nullptr, 0), 0.f);
  });
}

// The vector Adam is bitwise AdamFn, for each weight-decay mode and every tail.
TEST(VectorKernels, AdamIsBitwiseTheFunctor) {
  for (int wd = 0; wd < 3; ++wd) {
    AdamHyper h;
    h.beta1 = 0.9, h.beta2 = 0.999, h.eps = 1e-8, h.step_size = 1e-3 / (1 - 0.9 * 0.9);
    h.bias_correction2_sqrt = std::sqrt(1 - 0.999 * 0.999);
    h.weight_decay = wd == 0 ? 0 : 0.01, h.decoupled = wd == 2, h.decay = wd == 2 ? 1 - 1e-3 * 0.01 : 1;
    const simd::AdamF32 hf{float(h.beta1), float(1 - h.beta1), float(h.beta2), float(1 - h.beta2), float(h.eps),
                           float(h.weight_decay), float(h.decay), float(-h.step_size),
                           float(h.bias_correction2_sqrt), wd};
    const int64_t n = 1003;
    std::mt19937 gen(wd);
    std::normal_distribution<float> nd;
    std::vector<float> p(n), g(n), m(n), v(n);
    for (int64_t i = 0; i < n; ++i) p[i] = nd(gen), g[i] = nd(gen), m[i] = 0.1f * nd(gen), v[i] = i % 5 ? std::abs(nd(gen)) : 0;
    // The reference: the functor through the scalar element loop.
    std::vector<float> rp(p), rm(m), rv(v);
    OptimPtrs<float> ptrs{rp.data(), g.data(), {rm.data(), rv.data(), nullptr}};
    for (int64_t i = 0; i < n; ++i) {
      if (wd == 0) optim_element(i, ptrs, AdamFn<float, 0, false>(h));
      if (wd == 1) optim_element(i, ptrs, AdamFn<float, 1, false>(h));
      if (wd == 2) optim_element(i, ptrs, AdamFn<float, 2, false>(h));
    }
    for_each_target([&] {
      SCOPED_TRACE("weight decay mode " + std::to_string(wd));
      std::vector<float> vp(p), vm(m), vv(v);
      simd::adam_f32(hf, vp.data(), g.data(), vm.data(), vv.data(), n);
      EXPECT_EQ(std::memcmp(vp.data(), rp.data(), n * 4), 0);
      EXPECT_EQ(std::memcmp(vm.data(), rm.data(), n * 4), 0);
      EXPECT_EQ(std::memcmp(vv.data(), rv.data(), n * 4), 0);
    });
  }
}

TEST(VectorKernels, Bfloat16CastsAreBitwiseTheScalarOnes) {
  std::vector<uint16_t> all(65536 + 5);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> f;
  std::mt19937 gen(3);
  for (int i = 0; i < 100000; ++i) {
    uint32_t bits = gen();
    if (i % 7 == 0) bits = (bits & 0xffff0000u) | 0x8000u;  // exact ties: round half to even
    float x;
    std::memcpy(&x, &bits, 4);
    f.push_back(x);
  }
  for (float x : {kInf, -kInf, kNaN, 3.4e38f, 3.3961e38f, -0.f, 1e-45f}) f.push_back(x);
  for_each_target([&] {
    std::vector<float> wide(all.size());
    simd::bf16_to_f32(all.data(), wide.data(), static_cast<int64_t>(all.size()));
    for (size_t i = 0; i < all.size(); ++i) {
      float r = detail::bf16_bits_to_float(all[i]);
      ASSERT_EQ(std::memcmp(&wide[i], &r, 4), 0) << "bits " << all[i];
    }
    std::vector<uint16_t> narrow(f.size());
    simd::f32_to_bf16(f.data(), narrow.data(), static_cast<int64_t>(f.size()));
    for (size_t i = 0; i < f.size(); ++i) ASSERT_EQ(narrow[i], detail::float_to_bf16_bits(f[i])) << f[i];
  });
}

TEST(VectorKernels, UnknownTargetIsRefused) {
  EXPECT_THROW(simd::use_target_for_test("NOT-A-TARGET"), std::invalid_argument);
  EXPECT_FALSE(simd::target_name().empty());
}
}  // namespace
}  // namespace kiln::ops
