// The CUDA loop policy the pointwise dispatch templates run their functors with.
#pragma once
#include "ops/elementwise/cuda_loop.cuh"

namespace kiln::ops {
struct CudaLoop {
  template <typename out_t, typename... in_t, typename F>
  static void run(const ElementwiseIter& it, const F& f) {
    cuda_elementwise<out_t, in_t...>(it, f);
  }
};
}  // namespace kiln::ops
