// Warp-shuffle and block-wide combines of any reduction accumulator (device only), shared by the
// reduction and softmax kernels.
#pragma once
#include <cuda_runtime.h>

#include <cstring>

namespace kiln::ops::cuda_reduce {

/// __shfl_down_sync for any trivially copyable type, moved as 32-bit words.
template <typename T>
__device__ __forceinline__ T shfl_down(T v, int delta) {
  constexpr int kWords = (sizeof(T) + 3) / 4;
  int w[kWords] = {};
  memcpy(w, &v, sizeof(T));
#pragma unroll
  for (int i = 0; i < kWords; ++i) w[i] = __shfl_down_sync(0xffffffffu, w[i], delta);
  memcpy(&v, w, sizeof(T));
  return v;
}

template <typename Op, typename acc_t>
__device__ __forceinline__ acc_t warp_combine(const Op& op, acc_t acc) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) acc = op.combine(acc, shfl_down(acc, d));
  return acc;
}

/// Combines one accumulator per thread of a 1-D block (blockDim.x a multiple of 32, at most 1024).
/// The result is valid in thread 0. smem must hold 32 accumulators; the caller syncs before reusing it.
template <typename Op, typename acc_t>
__device__ acc_t block_combine(const Op& op, acc_t acc, acc_t* smem) {
  acc = warp_combine(op, acc);
  if (blockDim.x <= 32) return acc;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) smem[warp] = acc;
  __syncthreads();
  if (warp == 0) {
    acc = lane < static_cast<int>(blockDim.x >> 5) ? smem[lane] : op.identity();
    acc = warp_combine(op, acc);
  }
  return acc;
}

/// The combine of a plain sum, for warp_combine and block_combine.
template <typename A>
struct SumCombine {
  __device__ A identity() const { return A(0); }
  __device__ A combine(A a, A b) const { return a + b; }
};

/// Threads for a block walking n elements: a multiple of 32 between 32 and max_threads.
inline int block_threads(int64_t n, int max_threads) {
  int64_t t = ((n + 31) / 32) * 32;
  return static_cast<int>(t < 32 ? 32 : t > max_threads ? max_threads : t);
}
}  // namespace kiln::ops::cuda_reduce
