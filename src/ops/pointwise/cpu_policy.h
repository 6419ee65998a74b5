// The CPU loop policy the pointwise dispatch templates run their functors with: dense and row-dense
// iterations run an `omp simd` loop (vectorised at -O2 too, where GCC's cheap cost model would not), or the
// functor's Highway twin where it has one (ops/simd/vector_twins.h); everything else goes through the shared
// strided loop.
#pragma once
#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>

#include "ops/elementwise/cpu_loop.h"
#include "ops/simd/vector_twins.h"

namespace kiln::ops {
namespace detail {
// out[i] = f(in[i]...) for i < n. omp simd asserts what holds for every elementwise op: no element
// depends on another (an in-place output aliases its input exactly, element for element).
template <typename out_t, typename... in_t, typename F, size_t... I>
inline void dense_loop(out_t* out, const std::tuple<const in_t*...>& in, int64_t n, const F& f,
                       std::index_sequence<I...>) {
  F fl = f;  // a local copy: its members are not reloaded after every store through out
  std::tuple<const in_t*...> p = in;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<out_t>(fl(static_cast<opmath_t<in_t>>(std::get<I>(p)[i])...));
}

// The row an input contributes: itself, or its one value spread over buf when it is constant along the row.
template <typename T>
inline const T* row_pointer(const T* src, const std::unique_ptr<T[]>& buf, int64_t n) {
  if (!buf) return src;
  std::fill_n(buf.get(), n, *src);
  return buf.get();
}

template <typename out_t, typename... in_t, typename F, size_t... I>
void cpu_pointwise(const ElementwiseIter& it, const F& f, std::index_sequence<I...> seq) {
  out_t* out = static_cast<out_t*>(it.data[0]);
  if (it.contiguous) {
    std::tuple<const in_t*...> in{static_cast<const in_t*>(it.data[I + 1])...};
    cpu::parallel_for(0, it.numel, cpu::kGrainSize, [&](int64_t b, int64_t e) {
      dense_loop<out_t, in_t...>(out + b, std::tuple<const in_t*...>{(std::get<I>(in) + b)...}, e - b, f, seq);
    });
    return;
  }
  // Row-dense: the output and every input are unit-stride along the innermost dim (a [N, C] + [C] bias
  // add), or an input is constant along it (stride 0: a [N, C] - [N, 1] mean). A constant is spread into
  // a per-thread row buffer so the inner loop stays one vectorised dense loop.
  const OffsetCalc& c = it.calc;
  int nd = c.ndim;
  bool rows_dense = nd >= 1 && c.sizes[nd - 1] >= 16 && c.strides[0][nd - 1] == 1;
  for (int k = 1; k < it.noperands && rows_dense; ++k)
    rows_dense = c.strides[k][nd - 1] == 0 || c.strides[k][nd - 1] == 1;
  if (!rows_dense) return cpu_elementwise<out_t, in_t...>(it, f);
  int64_t inner = c.sizes[nd - 1], rows = it.numel / inner;
  const bool constant_row[sizeof...(in_t) + 1] = {(c.strides[I + 1][nd - 1] == 0)..., false};
  cpu::parallel_for(0, rows, std::max<int64_t>(1, cpu::kGrainSize / inner), [&](int64_t rb, int64_t re) {
    std::tuple<std::unique_ptr<in_t[]>...> bufs{(constant_row[I] ? std::make_unique<in_t[]>(inner) : nullptr)...};
    for (int64_t r = rb; r < re; ++r) {
      int64_t off[kMaxOperands];
      c.offsets(r * inner, off);
      std::tuple<const in_t*...> in{
          row_pointer(static_cast<const in_t*>(it.data[I + 1]) + off[I + 1], std::get<I>(bufs), inner)...};
      dense_loop<out_t, in_t...>(out + off[0], in, inner, f, seq);
    }
  });
}
}  // namespace detail

struct CpuLoop {
  template <typename out_t, typename... in_t, typename F>
  static void run(const ElementwiseIter& it, const F& f) {
    if (it.numel == 0) return;
    // A functor with a vector twin (exp, log, tanh, ...) runs it on dense float32 data.
    if constexpr (VectorTwin<F>::kHas && std::is_same<std::tuple<out_t, in_t...>, std::tuple<float, float>>::value)
      if (it.contiguous) return cpu_vector_unary(it, VectorTwin<F>::kOp);
    detail::cpu_pointwise<out_t, in_t...>(it, f, std::index_sequence_for<in_t...>{});
  }
};
}  // namespace kiln::ops
