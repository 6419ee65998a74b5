// Math that gives the same bits on the host and on the GPU, for the random generators (randn, rand, randint).
//
// Every step is one IEEE operation rounded to nearest: +, -, *, / and sqrt are correctly rounded on both, and
// the helpers below keep nvcc from fusing a*b+c into an FMA (which rounds once instead of twice). log and
// cos are not taken from the platform (glibc and CUDA's libdevice differ by an ulp or two): they are written
// here from those operations, exact range reductions and fixed polynomials, accurate to a few ulp. Host files
// that call them are compiled with -ffp-contract=off (src/CMakeLists.txt) so the host compiler fuses nothing
// either; the CUDA random kernel is compiled with -fmad=false as well.
#pragma once
#include "kiln/core/macros.h"

namespace kiln::ops::exact {

KILN_HD double add(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
KILN_HD double sub(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
KILN_HD double mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
KILN_HD double div(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}
KILN_HD double sqrt(double x) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(x);
#else
  return __builtin_sqrt(x);
#endif
}

/// x = m * 2^e with m in [0.5, 1) (exact on both).
KILN_HD double frexp(double x, int* e) {
#if defined(__CUDA_ARCH__)
  return ::frexp(x, e);
#else
  return __builtin_frexp(x, e);
#endif
}

/// Natural log of a positive, finite, normal x: log(m) + e*ln2 with m in [sqrt(1/2), sqrt(2)), and
/// log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, by its series to s^23 (truncation below 1e-18).
KILN_HD double log(double x) {
  int e = 0;
  double m = frexp(x, &e);
  if (m < 0.70710678118654752) {  // exact: scaling by 2
    m = m + m;
    e -= 1;
  }
  const double f = sub(m, 1.0);  // exact (Sterbenz)
  const double s = div(f, add(2.0, f));
  const double s2 = mul(s, s);
  double p = 0.08695652173913043;  // 2/23, then 2/21 ... 2/3
  p = add(0.09523809523809523, mul(s2, p));
  p = add(0.10526315789473684, mul(s2, p));
  p = add(0.11764705882352941, mul(s2, p));
  p = add(0.13333333333333333, mul(s2, p));
  p = add(0.15384615384615385, mul(s2, p));
  p = add(0.18181818181818182, mul(s2, p));
  p = add(0.2222222222222222, mul(s2, p));
  p = add(0.2857142857142857, mul(s2, p));
  p = add(0.4, mul(s2, p));
  p = add(0.6666666666666666, mul(s2, p));
  const double log_m = add(add(s, s), mul(mul(s, s2), p));
  const double de = static_cast<double>(e);
  // ln2 split so that e * ln2_hi is exact for |e| < 2^11.
  return add(mul(de, 6.93147180369123816490e-01), add(mul(de, 1.90821492927058770002e-10), log_m));
}

/// cos(x) for |x| <= pi/4: Taylor series to x^20.
KILN_HD double cos_poly(double x) {
  const double x2 = mul(x, x);
  double p = 4.110317623312165e-19;
  p = add(-1.5619206968586225e-16, mul(x2, p));
  p = add(4.779477332387385e-14, mul(x2, p));
  p = add(-1.1470745597729725e-11, mul(x2, p));
  p = add(2.08767569878681e-09, mul(x2, p));
  p = add(-2.755731922398589e-07, mul(x2, p));
  p = add(2.48015873015873e-05, mul(x2, p));
  p = add(-0.001388888888888889, mul(x2, p));
  p = add(0.041666666666666664, mul(x2, p));
  p = add(-0.5, mul(x2, p));
  return add(1.0, mul(x2, p));
}

/// sin(x) for |x| <= pi/4: Taylor series to x^21.
KILN_HD double sin_poly(double x) {
  const double x2 = mul(x, x);
  double p = 1.9572941063391263e-20;
  p = add(-8.22063524662433e-18, mul(x2, p));
  p = add(2.8114572543455206e-15, mul(x2, p));
  p = add(-7.647163731819816e-13, mul(x2, p));
  p = add(1.6059043836821613e-10, mul(x2, p));
  p = add(-2.505210838544172e-08, mul(x2, p));
  p = add(2.7557319223985893e-06, mul(x2, p));
  p = add(-0.0001984126984126984, mul(x2, p));
  p = add(0.008333333333333333, mul(x2, p));
  p = add(-0.16666666666666666, mul(x2, p));
  return add(x, mul(mul(x, x2), p));
}

/// cos(2 pi u) for u in [0, 1). The reductions to [0, 1/4] turns are exact (Sterbenz), so only the
/// polynomial and one product with pi round.
KILN_HD double cos_2pi(double u) {
  double t = u + u;            // turns of pi, in [0, 2): exact
  if (t > 1.0) t = 2.0 - t;    // cos(pi t) = cos(pi (2 - t))
  double sign = 1.0;
  if (t > 0.5) {               // cos(pi t) = -cos(pi (1 - t))
    t = 1.0 - t;
    sign = -1.0;
  }
  const double pi = 3.141592653589793;
  const double r = t <= 0.25 ? cos_poly(mul(pi, t)) : sin_poly(mul(pi, 0.5 - t));  // cos = sin(pi/2 - x)
  return sign * r;
}

}  // namespace kiln::ops::exact
