// Highway implementations of vector_kernels.h. foreach_target.h re-includes this file once per target
// (AVX-512, AVX2, SSE4 and the scalar fallback; SSSE3 adds nothing over SSE4 here), and the
// HWY_ONCE part dispatches each call to the best target this CPU supports. Compiled with
// -ffp-contract=off (src/CMakeLists.txt) so a separate multiply and add stay separate, as in the scalar
// functors the kernels must match bit for bit.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS HWY_SSSE3
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/simd/vector_kernels.cpp"
#include <hwy/foreach_target.h>  // before highway.h
#include <hwy/highway.h>
#include <hwy/cache_control.h>
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "kiln/core/half.h"
#include "ops/simd/vector_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace kiln::ops::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

// e^x. Highway's Exp is valid up to x = 104 and maps NaN to 0: inputs past the overflow point give inf and
// NaN stays NaN, as expf.
HWY_INLINE VF exp_f32(DF d, VF x) {
  const VF r = hn::Exp(d, hn::Min(x, hn::Set(d, 100.0f)));
  const VF y = hn::IfThenElse(hn::Gt(x, hn::Set(d, 88.7228317f)), hn::Set(d, kInf), r);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}
// log x. Highway's Log is valid on (0, FLT_MAX]: zero, negatives, inf and NaN are set as logf gives them.
HWY_INLINE VF log_f32(DF d, VF x) {
  VF r = hn::Log(d, x);
  r = hn::IfThenElse(hn::Eq(x, hn::Zero(d)), hn::Set(d, -kInf), r);
  r = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Set(d, kNaN), r);
  r = hn::IfThenElse(hn::Eq(x, hn::Set(d, kInf)), x, r);
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

struct ExpOp {
  HWY_INLINE VF operator()(DF d, VF x) const { return exp_f32(d, x); }
};
struct LogOp {
  HWY_INLINE VF operator()(DF d, VF x) const { return log_f32(d, x); }
};
struct TanhOp {
  HWY_INLINE VF operator()(DF d, VF x) const { return hn::IfThenElse(hn::IsNaN(x), x, hn::Tanh(d, x)); }
};
// SigmoidFn and SiluFn: 1 / (1 + e^-x) and x / (1 + e^-x).
struct SigmoidOp {
  HWY_INLINE VF operator()(DF d, VF x) const {
    const VF one = hn::Set(d, 1.0f);
    return hn::Div(one, hn::Add(one, exp_f32(d, hn::Neg(x))));
  }
};
struct SiluOp {
  HWY_INLINE VF operator()(DF d, VF x) const {
    return hn::Div(x, hn::Add(hn::Set(d, 1.0f), exp_f32(d, hn::Neg(x))));
  }
};

// out[i] = op(in[i]). The tail goes through a stack buffer: a partial load would read past the end on
// targets without masked loads.
template <class Op>
HWY_INLINE void map_f32(const float* in, float* out, int64_t n, const Op& op) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    hwy::Prefetch(in + i + 512);  // 2 KiB ahead: the loads overlap the math instead of stalling it
    hn::StoreU(op(d, hn::LoadU(d, in + i)), d, out + i);
  }
  if (i == n) return;
  HWY_ALIGN float buf[kMaxLanes] = {};
  std::memcpy(buf, in + i, sizeof(float) * static_cast<size_t>(n - i));
  hn::Store(op(d, hn::Load(d, buf)), d, buf);
  std::memcpy(out + i, buf, sizeof(float) * static_cast<size_t>(n - i));
}

void UnaryF32(int op, const float* in, float* out, int64_t n) {
  switch (static_cast<VecUnary>(op)) {
    case VecUnary::Exp: return map_f32(in, out, n, ExpOp{});
    case VecUnary::Log: return map_f32(in, out, n, LogOp{});
    case VecUnary::Tanh: return map_f32(in, out, n, TanhOp{});
    case VecUnary::Sigmoid: return map_f32(in, out, n, SigmoidOp{});
    case VecUnary::Silu: return map_f32(in, out, n, SiluOp{});
  }
}

float MaxF32(const float* x, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF m = hn::Set(d, -kInf);
  auto nan = hn::Lt(m, m);  // all false
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    hwy::Prefetch(x + i + 512);
    const VF v = hn::LoadU(d, x + i);
    nan = hn::Or(nan, hn::IsNaN(v));
    m = hn::Max(m, v);
  }
  float r = hn::GetLane(hn::MaxOfLanes(d, m));
  bool any_nan = !hn::AllFalse(d, nan);
  for (; i < n; ++i) {
    any_nan |= x[i] != x[i];
    r = std::max(r, x[i]);
  }
  return any_nan ? kNaN : r;
}

float ExpSumF32(const float* x, float shift, float* y, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF s = hn::Set(d, shift);
  VF sum = hn::Zero(d);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    hwy::Prefetch(x + i + 512);  // past a short row's end this fetches the next row (softmax runs row after row)
    const VF e = exp_f32(d, hn::Sub(hn::LoadU(d, x + i), s));
    if (y) hn::StoreU(e, d, y + i);
    sum = hn::Add(sum, e);
  }
  if (i < n) {
    const size_t rest = static_cast<size_t>(n - i);
    HWY_ALIGN float buf[kMaxLanes] = {};
    std::memcpy(buf, x + i, sizeof(float) * rest);
    const VF e = hn::IfThenElseZero(hn::FirstN(d, rest), exp_f32(d, hn::Sub(hn::Load(d, buf), s)));
    if (y) {
      hn::Store(e, d, buf);
      std::memcpy(y + i, buf, sizeof(float) * rest);
    }
    sum = hn::Add(sum, e);
  }
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

void ScaleF32(float* y, float s, int64_t n) {
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const VF sv = hn::Set(d, s);
  int64_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::Mul(hn::LoadU(d, y + i), sv), d, y + i);
  for (; i < n; ++i) y[i] *= s;
}

// AdamFn's body, written once for a vector or a scalar (the tail): the same operations in the same order.
template <int WD, class T, class Mul, class Add, class Div, class Sqrt>
HWY_INLINE void adam_body(const T* c, T& p, T g, T& m, T& v, const Mul& mul, const Add& add, const Div& div,
                          const Sqrt& sqrt) {
  // c: beta1, 1-beta1, beta2, 1-beta2, eps, weight_decay, decay, -step_size, sqrt(bias_correction2)
  if constexpr (WD == 1) g = add(g, mul(c[5], p));
  if constexpr (WD == 2) p = mul(p, c[6]);
  m = add(mul(m, c[0]), mul(c[1], g));
  v = add(mul(v, c[2]), mul(mul(c[3], g), g));
  const T denom = add(div(sqrt(v), c[8]), c[4]);
  p = add(p, div(mul(c[7], m), denom));
}

template <int WD>
HWY_INLINE void adam_loop(const AdamF32& h, float* p, const float* g, float* m, float* v, int64_t n) {
  const float cs[9] = {h.beta1, h.one_minus_beta1, h.beta2, h.one_minus_beta2, h.eps, h.weight_decay, h.decay,
                       h.neg_step_size, h.bias_correction2_sqrt};
  const DF d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  VF cv[9];
  for (int k = 0; k < 9; ++k) cv[k] = hn::Set(d, cs[k]);
  auto vmul = [](VF a, VF b) HWY_ATTR { return hn::Mul(a, b); };
  auto vadd = [](VF a, VF b) HWY_ATTR { return hn::Add(a, b); };
  auto vdiv = [](VF a, VF b) HWY_ATTR { return hn::Div(a, b); };
  auto vsqrt = [](VF a) HWY_ATTR { return hn::Sqrt(a); };
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    VF pv = hn::LoadU(d, p + i), mv = hn::LoadU(d, m + i), vv = hn::LoadU(d, v + i);
    adam_body<WD>(cv, pv, hn::LoadU(d, g + i), mv, vv, vmul, vadd, vdiv, vsqrt);
    hn::StoreU(pv, d, p + i);
    hn::StoreU(mv, d, m + i);
    hn::StoreU(vv, d, v + i);
  }
  auto smul = [](float a, float b) { return a * b; };
  auto sadd = [](float a, float b) { return a + b; };
  auto sdiv = [](float a, float b) { return a / b; };
  auto ssqrt = [](float a) { return std::sqrt(a); };
  for (; i < n; ++i) adam_body<WD>(cs, p[i], g[i], m[i], v[i], smul, sadd, sdiv, ssqrt);
}

void AdamStepF32(const AdamF32& h, float* p, const float* g, float* m, float* v, int64_t n) {
  if (h.wd_mode == 1) return adam_loop<1>(h, p, g, m, v, n);
  if (h.wd_mode == 2) return adam_loop<2>(h, p, g, m, v, n);
  adam_loop<0>(h, p, g, m, v, n);
}

void F32ToBf16(const float* in, uint16_t* out, int64_t n) {
  const DF d;
  const hn::RebindToUnsigned<DF> du32;
  const hn::RebindToSigned<DF> di32;
  const hn::Rebind<uint16_t, DF> du16;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto one = hn::Set(du32, 1u), half = hn::Set(du32, 0x7fffu), quiet = hn::Set(du32, 0x40u);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const VF f = hn::LoadU(d, in + i);
    const auto bits = hn::BitCast(du32, f);
    const auto high = hn::ShiftRight<16>(bits);
    const auto rounded = hn::ShiftRight<16>(hn::Add(bits, hn::Add(half, hn::And(high, one))));
    const auto r = hn::IfThenElse(hn::RebindMask(du32, hn::IsNaN(f)), hn::Or(high, quiet), rounded);
    hn::StoreU(hn::DemoteTo(du16, hn::BitCast(di32, r)), du16, out + i);
  }
  for (; i < n; ++i) out[i] = detail::float_to_bf16_bits(in[i]);
}

void Bf16ToF32(const uint16_t* in, float* out, int64_t n) {
  const DF d;
  const hn::RebindToUnsigned<DF> du32;
  const hn::Rebind<uint16_t, DF> du16;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + N <= n; i += N)
    hn::StoreU(hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, in + i)))), d, out + i);
  for (; i < n; ++i) out[i] = detail::bf16_bits_to_float(in[i]);
}

const char* TargetNameHere() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace kiln::ops::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace kiln::ops::simd {
HWY_EXPORT(UnaryF32);
HWY_EXPORT(MaxF32);
HWY_EXPORT(ExpSumF32);
HWY_EXPORT(ScaleF32);
HWY_EXPORT(AdamStepF32);
HWY_EXPORT(F32ToBf16);
HWY_EXPORT(Bf16ToF32);
HWY_EXPORT(TargetNameHere);

void unary_f32(VecUnary op, const float* in, float* out, int64_t n) {
  HWY_DYNAMIC_DISPATCH(UnaryF32)(static_cast<int>(op), in, out, n);
}
float max_f32(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(MaxF32)(x, n); }
float exp_sum_f32(const float* x, float shift, float* y, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(ExpSumF32)(x, shift, y, n);
}
void scale_f32(float* y, float s, int64_t n) { HWY_DYNAMIC_DISPATCH(ScaleF32)(y, s, n); }
void adam_f32(const AdamF32& h, float* p, const float* g, float* m, float* v, int64_t n) {
  HWY_DYNAMIC_DISPATCH(AdamStepF32)(h, p, g, m, v, n);
}
void f32_to_bf16(const float* in, uint16_t* out, int64_t n) { HWY_DYNAMIC_DISPATCH(F32ToBf16)(in, out, n); }
void bf16_to_f32(const uint16_t* in, float* out, int64_t n) { HWY_DYNAMIC_DISPATCH(Bf16ToF32)(in, out, n); }

std::string target_name() { return HWY_DYNAMIC_DISPATCH(TargetNameHere)(); }

std::vector<std::string> supported_targets() {
  std::vector<std::string> names;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) names.emplace_back(hwy::TargetName(t));
  return names;
}

void use_target_for_test(const std::string& name) {
  hwy::SetSupportedTargetsForTest(0);  // back to what the CPU supports
  if (name.empty()) return;
  for (int64_t t : hwy::SupportedAndGeneratedTargets())
    if (name == hwy::TargetName(t)) return hwy::SetSupportedTargetsForTest(t);
  throw std::invalid_argument("vector kernels: no supported target named '" + name + "'");
}
}  // namespace kiln::ops::simd
#endif  // HWY_ONCE
