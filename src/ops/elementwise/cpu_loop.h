// The CPU elementwise loop: out[i] = f(in0[i], in1[i], ...) in opmath, over an ElementwiseIter.
#pragma once
#include <utility>

#include "backend/cpu/parallel.h"
#include "ops/elementwise/iter.h"

namespace kiln::ops {

namespace detail {
template <typename out_t, typename... in_t, typename F, size_t... I>
void cpu_elementwise_impl(const ElementwiseIter& it, const F& f, std::index_sequence<I...>) {
  out_t* out = static_cast<out_t*>(it.data[0]);
  if (it.contiguous) {
    // Dense fast path: plain pointer arithmetic the compiler vectorises.
    [[maybe_unused]] auto ptrs = std::make_tuple(static_cast<const in_t*>(it.data[I + 1])...);
    cpu::parallel_for(0, it.numel, cpu::kGrainSize, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        out[i] = static_cast<out_t>(f(static_cast<opmath_t<in_t>>(std::get<I>(ptrs)[i])...));
    });
    return;
  }
  // Strided path: the innermost dim runs as a strided loop; outer indices are decoded once per row.
  const OffsetCalc& c = it.calc;
  int64_t inner = c.ndim ? c.sizes[c.ndim - 1] : 1;
  int64_t rows = inner ? it.numel / inner : 0;
  int64_t s_out = c.ndim ? c.strides[0][c.ndim - 1] : 0;
  int64_t s_in[sizeof...(in_t) + 1] = {(c.ndim ? c.strides[I + 1][c.ndim - 1] : 0)..., 0};
  int64_t grain = std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(inner, 1));
  cpu::parallel_for(0, rows, grain, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      int64_t off[kMaxOperands];
      c.offsets(r * inner, off);
      out_t* o = out + off[0];
      [[maybe_unused]] auto ptrs = std::make_tuple((static_cast<const in_t*>(it.data[I + 1]) + off[I + 1])...);
      for (int64_t i = 0; i < inner; ++i)
        o[i * s_out] = static_cast<out_t>(f(static_cast<opmath_t<in_t>>(std::get<I>(ptrs)[i * s_in[I]])...));
    }
  });
}
}  // namespace detail

/// Runs f over the iteration on the CPU. Operand k+1 is read as in_t[k], converted to opmath_t<in_t[k]>;
/// f's result is converted to out_t.
template <typename out_t, typename... in_t, typename F>
void cpu_elementwise(const ElementwiseIter& it, const F& f) {
  if (it.numel == 0) return;
  detail::cpu_elementwise_impl<out_t, in_t...>(it, f, std::index_sequence_for<in_t...>{});
}
}  // namespace kiln::ops
