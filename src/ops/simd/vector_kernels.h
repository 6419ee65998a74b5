// float32 (and bfloat16 conversion) kernels vectorised with Highway for the widest instruction set the CPU
// has (AVX-512, AVX2, ...), chosen at run time; vector_kernels.cpp is compiled once per target. Each kernel
// is the fast twin of a scalar functor that stays the definition of the op: the loops that are not
// contiguous float32 still run the functor, and tests/ops/test_vector_kernels.cpp holds each twin to it on
// every target this CPU supports.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::ops::simd {

/// The unary ops with a vector twin. Exp is within 1 ulp of the correctly rounded result, the others within
/// 4; NaN, infinities, overflow and zero behave as the C library's functions.
enum class VecUnary : int8_t { Exp, Log, Tanh, Sigmoid, Silu };

/// out[i] = op(in[i]) for i < n; out may be in.
void unary_f32(VecUnary op, const float* in, float* out, int64_t n);

/// The largest of x[0..n): NaN when any is NaN, -inf when n == 0.
float max_f32(const float* x, int64_t n);
/// sum of exp(x[i] - shift); y[i] = exp(x[i] - shift) too when y is not null (y may be x).
float exp_sum_f32(const float* x, float shift, float* y, int64_t n);
/// y[i] *= s.
void scale_f32(float* y, float s, int64_t n);

/// One Adam step (without AMSGrad) on contiguous float32 buffers, in AdamFn's operations and order, so the
/// result is bitwise the scalar loop's. wd_mode: 0 none, 1 L2, 2 decoupled (AdamW).
struct AdamF32 {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, decay, neg_step_size,
      bias_correction2_sqrt;
  int wd_mode;
};
void adam_f32(const AdamF32& h, float* p, const float* g, float* m, float* v, int64_t n);

/// float32 <-> bfloat16 bits, round to nearest even with NaN kept quiet: bitwise detail::float_to_bf16_bits.
void f32_to_bf16(const float* in, uint16_t* out, int64_t n);
void bf16_to_f32(const uint16_t* in, float* out, int64_t n);

/// The target the kernels run on now ("AVX3", "AVX2", "EMU128", ...), for `kiln info` and bench rows.
std::string target_name();
/// The targets compiled in that this CPU runs, best first.
std::vector<std::string> supported_targets();
/// Makes the kernels run on the named target from supported_targets() ("" restores the best). For tests.
void use_target_for_test(const std::string& name);

}  // namespace kiln::ops::simd
