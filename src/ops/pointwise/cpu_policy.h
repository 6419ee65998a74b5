// The CPU loop policy the pointwise dispatch templates run their functors with.
#pragma once
#include "ops/elementwise/cpu_loop.h"

namespace kiln::ops {
struct CpuLoop {
  /// Host loops can report errors found in the data (integer remainder by zero) after the loop.
  static constexpr bool kHost = true;
  template <typename out_t, typename... in_t, typename F>
  static void run(const ElementwiseIter& it, const F& f) {
    cpu_elementwise<out_t, in_t...>(it, f);
  }
};
}  // namespace kiln::ops
