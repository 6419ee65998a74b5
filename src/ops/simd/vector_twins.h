// The scalar functors that have a vector twin in vector_kernels.h, and the CPU loop that runs a twin over a
// dense float32 iteration. The pointwise CPU policy (ops/pointwise/cpu_policy.h) consults VectorTwin first.
#pragma once
#include "backend/cpu/parallel.h"
#include "ops/elementwise/iter.h"
#include "ops/pointwise/unary_functors.h"
#include "ops/simd/vector_kernels.h"

namespace kiln::ops {

template <typename F>
struct VectorTwin {
  static constexpr bool kHas = false;
};
#define KILN_VECTOR_TWIN(Functor, Op)                                 \
  template <>                                                         \
  struct VectorTwin<Functor> {                                        \
    static constexpr bool kHas = true;                                \
    static constexpr simd::VecUnary kOp = simd::VecUnary::Op;         \
  };
KILN_VECTOR_TWIN(ExpFn, Exp)
KILN_VECTOR_TWIN(LogFn, Log)
KILN_VECTOR_TWIN(TanhFn, Tanh)
KILN_VECTOR_TWIN(SigmoidFn, Sigmoid)
KILN_VECTOR_TWIN(SiluFn, Silu)
#undef KILN_VECTOR_TWIN

/// out = op(in) over a contiguous float32 iteration (operand 0 the output, operand 1 the input).
inline void cpu_vector_unary(const ElementwiseIter& it, simd::VecUnary op) {
  float* out = static_cast<float*>(it.data[0]);
  const float* in = static_cast<const float*>(it.data[1]);
  // exp and its kin cost ~10 cycles per vector: a smaller grain than a memory-bound op pays for a task.
  cpu::parallel_for(0, it.numel, cpu::kGrainSize / 4,
                    [&](int64_t b, int64_t e) { simd::unary_f32(op, in + b, out + b, e - b); });
}
}  // namespace kiln::ops
