// The CUDA elementwise kernels: the same functor as the CPU loop, over an ElementwiseIter, on the iter's stream.
#pragma once
#include <utility>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/elementwise/iter.h"

namespace kiln::ops {

template <int N>
struct PtrArray {
  void* p[N > 0 ? N : 1];
};

namespace detail {
template <typename out_t, typename... in_t, typename F, size_t... I>
__device__ __forceinline__ void apply_contig(int64_t i, const PtrArray<sizeof...(in_t) + 1>& ptrs, const F& f,
                                             std::index_sequence<I...>) {
  static_cast<out_t*>(ptrs.p[0])[i] =
      static_cast<out_t>(f(static_cast<opmath_t<in_t>>(static_cast<const in_t*>(ptrs.p[I + 1])[i])...));
}

// __global__ templates need the pack last, so the functor type comes first here.
template <typename F, typename out_t, typename... in_t>
__global__ void elementwise_contig_kernel(int64_t n, PtrArray<sizeof...(in_t) + 1> ptrs, F f) {
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    apply_contig<out_t, in_t...>(i, ptrs, f, std::index_sequence_for<in_t...>{});
}

template <typename out_t, typename... in_t, typename F, size_t... I>
__device__ __forceinline__ void apply_strided(const int64_t* off, const PtrArray<sizeof...(in_t) + 1>& ptrs,
                                              const F& f, std::index_sequence<I...>) {
  static_cast<out_t*>(ptrs.p[0])[off[0]] =
      static_cast<out_t>(f(static_cast<opmath_t<in_t>>(static_cast<const in_t*>(ptrs.p[I + 1])[off[I + 1]])...));
}

template <typename F, typename out_t, typename... in_t>
__global__ void elementwise_strided_kernel(int64_t n, OffsetCalc calc, PtrArray<sizeof...(in_t) + 1> ptrs, F f) {
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    int64_t off[kMaxOperands];
    calc.offsets(i, off);
    apply_strided<out_t, in_t...>(off, ptrs, f, std::index_sequence_for<in_t...>{});
  }
}
}  // namespace detail

/// Grid for a grid-stride loop over n elements: enough blocks to fill the GPU, no more.
inline unsigned elementwise_blocks(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 65535 * 4));
}

/// Runs f over the iteration on it.stream; checks the launch.
template <typename out_t, typename... in_t, typename F>
void cuda_elementwise(const ElementwiseIter& it, const F& f) {
  if (it.numel == 0) return;
  cuda::DeviceGuard guard(it.device);
  PtrArray<sizeof...(in_t) + 1> ptrs;
  for (int k = 0; k < it.noperands; ++k) ptrs.p[k] = it.data[k];
  constexpr int threads = 256;
  cudaStream_t stream = cuda::detail::launch_stream(it.stream);
  if (it.contiguous)
    detail::elementwise_contig_kernel<F, out_t, in_t...><<<elementwise_blocks(it.numel, threads), threads, 0, stream>>>(
        it.numel, ptrs, f);
  else
    detail::elementwise_strided_kernel<F, out_t, in_t...><<<elementwise_blocks(it.numel, threads), threads, 0, stream>>>(
        it.numel, it.calc, ptrs, f);
  KILN_CUDA_KERNEL_CHECK();
}
}  // namespace kiln::ops
