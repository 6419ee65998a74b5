// CUDA softmax / log_softmax forward and backward: a fused block-per-row kernel for the last dim (one
// online max+sum read, one read+write), and a thread-per-column kernel when the dim is not innermost.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/reduce/cuda_block_reduce.cuh"
#include "ops/reduce/reduce_functors.h"
#include "ops/reduce/reduce_kernels.h"

namespace kiln::ops {
namespace {
using cuda_reduce::block_combine;
using cuda_reduce::block_threads;

constexpr int64_t kMaxGrid = int64_t(1) << 30;

// Makes the row's (max, sum) visible to every thread of the block.
template <typename A>
__device__ LseAcc<A> row_lse(const LseAcc<A>& acc, LseAcc<A>* smem, LseAcc<A>* shared_result) {
  LseAcc<A> r = block_combine(LogSumExpOp<A>{}, acc, smem);
  if (threadIdx.x == 0) *shared_result = r;
  __syncthreads();
  return *shared_result;
}

template <typename scalar_t>
__global__ void softmax_rows_kernel(const scalar_t* x, scalar_t* y, int64_t rows, int64_t K, bool log) {
  using A = opmath_t<scalar_t>;
  __shared__ LseAcc<A> smem[32];
  __shared__ LseAcc<A> result;
  LogSumExpOp<scalar_t> op;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const scalar_t* xr = x + r * K;
    scalar_t* yr = y + r * K;
    LseAcc<A> acc = op.identity();
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc = op.reduce(acc, static_cast<A>(xr[k]), k);
    LseAcc<A> t = row_lse(acc, smem, &result);
    if (log) {
      auto f = LogSoftmaxFn<A>::make(t.m, t.s);
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) yr[k] = static_cast<scalar_t>(f(static_cast<A>(xr[k])));
    } else {
      auto f = SoftmaxFn<A>::make(t.m, t.s);
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) yr[k] = static_cast<scalar_t>(f(static_cast<A>(xr[k])));
    }
    __syncthreads();
  }
}

// One thread per (outer, inner) column; adjacent threads read adjacent memory at every k.
template <typename scalar_t>
__global__ void softmax_columns_kernel(const scalar_t* x, scalar_t* y, int64_t outer, int64_t K, int64_t inner, bool log) {
  using A = opmath_t<scalar_t>;
  LogSumExpOp<scalar_t> op;
  int64_t n = outer * inner, stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < n; t += stride) {
    int64_t o = t / inner, i = t % inner;
    const scalar_t* xc = x + o * K * inner + i;
    scalar_t* yc = y + o * K * inner + i;
    LseAcc<A> acc = op.identity();
    for (int64_t k = 0; k < K; ++k) acc = op.reduce(acc, static_cast<A>(xc[k * inner]), k);
    auto sf = SoftmaxFn<A>::make(acc.m, acc.s);
    auto lf = LogSoftmaxFn<A>::make(acc.m, acc.s);
    for (int64_t k = 0; k < K; ++k) {
      A v = static_cast<A>(xc[k * inner]);
      yc[k * inner] = static_cast<scalar_t>(log ? lf(v) : sf(v));
    }
  }
}

template <typename scalar_t>
__global__ void softmax_backward_rows_kernel(const scalar_t* g, const scalar_t* y, scalar_t* gi, int64_t rows,
                                             int64_t K, bool log) {
  using A = opmath_t<scalar_t>;
  __shared__ A smem[32];
  __shared__ A result;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const scalar_t *gr = g + r * K, *yr = y + r * K;
    scalar_t* out = gi + r * K;
    A dot = 0;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
      dot += log ? static_cast<A>(gr[k]) : static_cast<A>(gr[k]) * static_cast<A>(yr[k]);
    dot = block_combine(cuda_reduce::SumCombine<A>{}, dot, smem);
    if (threadIdx.x == 0) result = dot;
    __syncthreads();
    dot = result;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      A gv = static_cast<A>(gr[k]), yv = static_cast<A>(yr[k]);
      out[k] = static_cast<scalar_t>(log ? SoftmaxBackwardFn<A, true>{dot}(gv, yv) : SoftmaxBackwardFn<A, false>{dot}(gv, yv));
    }
    __syncthreads();
  }
}

template <typename scalar_t>
__global__ void softmax_backward_columns_kernel(const scalar_t* g, const scalar_t* y, scalar_t* gi, int64_t outer,
                                                int64_t K, int64_t inner, bool log) {
  using A = opmath_t<scalar_t>;
  int64_t n = outer * inner, stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < n; t += stride) {
    int64_t base = (t / inner) * K * inner + t % inner;
    A dot = 0;
    for (int64_t k = 0; k < K; ++k) {
      A gv = static_cast<A>(g[base + k * inner]);
      dot += log ? gv : gv * static_cast<A>(y[base + k * inner]);
    }
    for (int64_t k = 0; k < K; ++k) {
      int64_t off = base + k * inner;
      A gv = static_cast<A>(g[off]), yv = static_cast<A>(y[off]);
      gi[off] = static_cast<scalar_t>(log ? SoftmaxBackwardFn<A, true>{dot}(gv, yv) : SoftmaxBackwardFn<A, false>{dot}(gv, yv));
    }
  }
}

unsigned column_blocks(int64_t n, int threads) {
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>((n + threads - 1) / threads, 1), kMaxGrid));
}
// Wide rows get a bigger block so a few rows still fill the GPU.
int row_threads(int64_t K) { return block_threads(K, K >= 8192 ? 1024 : 256); }

void softmax_cuda(const SoftmaxCall& c) {
  cuda::DeviceGuard guard(c.device);
  cudaStream_t stream = cuda::detail::launch_stream(c.stream);
  KILN_DISPATCH_FLOATING(c.dtype, "softmax", [&] {
    const scalar_t* x = static_cast<const scalar_t*>(c.in);
    scalar_t* y = static_cast<scalar_t*>(c.result);
    if (c.inner == 1) {
      unsigned blocks = static_cast<unsigned>(std::min(c.outer, kMaxGrid));
      softmax_rows_kernel<scalar_t><<<blocks, row_threads(c.K), 0, stream>>>(x, y, c.outer, c.K, c.log);
    } else {
      softmax_columns_kernel<scalar_t><<<column_blocks(c.outer * c.inner, 256), 256, 0, stream>>>(x, y, c.outer, c.K,
                                                                                                  c.inner, c.log);
    }
    KILN_CUDA_KERNEL_CHECK();
  });
}

void softmax_backward_cuda(const SoftmaxCall& c) {
  cuda::DeviceGuard guard(c.device);
  cudaStream_t stream = cuda::detail::launch_stream(c.stream);
  KILN_DISPATCH_FLOATING(c.dtype, "softmax_backward", [&] {
    const scalar_t* g = static_cast<const scalar_t*>(c.in);
    const scalar_t* y = static_cast<const scalar_t*>(c.out);
    scalar_t* gi = static_cast<scalar_t*>(c.result);
    if (c.inner == 1) {
      unsigned blocks = static_cast<unsigned>(std::min(c.outer, kMaxGrid));
      softmax_backward_rows_kernel<scalar_t><<<blocks, row_threads(c.K), 0, stream>>>(g, y, gi, c.outer, c.K, c.log);
    } else {
      softmax_backward_columns_kernel<scalar_t><<<column_blocks(c.outer * c.inner, 256), 256, 0, stream>>>(
          g, y, gi, c.outer, c.K, c.inner, c.log);
    }
    KILN_CUDA_KERNEL_CHECK();
  });
}
}  // namespace
KILN_REGISTER_KERNEL(softmax_stub, kCUDA, softmax_cuda);
KILN_REGISTER_KERNEL(softmax_backward_stub, kCUDA, softmax_backward_cuda);
}  // namespace kiln::ops
