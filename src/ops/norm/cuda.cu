// CUDA batch normalisation kernels: one block per channel for the reductions (sums in double, in a fixed order,
// so results are deterministic), one thread per element for the apply; the per-element math and the element
// offsets (NCHW or channels-last) are batch_norm_kernels.h's.
#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/data_or_null.h"
#include "ops/elementwise/cuda_loop.cuh"
#include "ops/norm/batch_norm_kernels.h"

namespace kiln::ops {
namespace {
constexpr int kReduceThreads = 512;

// The sum of v over the block (every thread gets it); `smem` holds one double per thread.
__device__ double block_sum(double v, double* smem) {
  smem[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) smem[threadIdx.x] += smem[threadIdx.x + half];
    __syncthreads();
  }
  const double total = smem[0];
  __syncthreads();  // smem is reused by the next call
  return total;
}

template <typename T>
__global__ void stats_kernel(BatchNormGeometry g, const T* x, T* mean, T* var) {
  __shared__ double smem[kReduceThreads];
  const int64_t c = blockIdx.x, count = g.n * g.s;
  double sum = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) sum += x[bn_offset(g, c, k)];
  const double m = block_sum(sum, smem) / count;
  double sq = 0;  // two passes, as the CPU: the squared deviations do not cancel
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const double d = x[bn_offset(g, c, k)] - m;
    sq += d * d;
  }
  const double v = block_sum(sq, smem) / count;
  if (threadIdx.x == 0) {
    mean[c] = static_cast<T>(m);
    var[c] = static_cast<T>(v);
  }
}

template <typename T>
__global__ void apply_kernel(BatchNormGeometry g, const T* x, const T* mean, const T* invstd, const T* weight,
                             const T* bias, T* y) {
  const int64_t n = g.n * g.c * g.s, stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    T scale, shift;
    bn_fold(mean, invstd, weight, bias, bn_channel(g, i), scale, shift);
    y[i] = x[i] * scale + shift;
  }
}

template <typename T>
__global__ void backward_kernel(BatchNormGeometry g, const T* x, const T* gy, const T* mean, const T* invstd,
                                const T* weight, bool training, T* gx, T* gw, T* gb) {
  __shared__ double smem[kReduceThreads];
  const int64_t c = blockIdx.x, count = g.n * g.s;
  const double m = mean[c], inv = invstd[c];
  double dy = 0, dy_xhat = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t o = bn_offset(g, c, k);
    dy += gy[o];
    dy_xhat += gy[o] * ((x[o] - m) * inv);
  }
  const double sum_dy = block_sum(dy, smem), sum_dy_xhat = block_sum(dy_xhat, smem);
  if (threadIdx.x == 0) {
    if (gw) gw[c] = static_cast<T>(sum_dy_xhat);
    if (gb) gb[c] = static_cast<T>(sum_dy);
  }
  if (!gx) return;
  const double scale = inv * (weight ? static_cast<double>(weight[c]) : 1.0);
  const double mean_dy = training ? sum_dy / count : 0, mean_dy_xhat = training ? sum_dy_xhat / count : 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t o = bn_offset(g, c, k);
    gx[o] = static_cast<T>(bn_grad_x(gy[o], x[o], m, inv, scale, mean_dy, mean_dy_xhat));
  }
}


template <typename T>
void stats(const BatchNormGeometry& g, const Tensor& x, Tensor& mean, Tensor& var) {
  if (g.c == 0) return;
  cuda::DeviceGuard guard(g.stream.device());
  stats_kernel<T><<<static_cast<unsigned>(g.c), kReduceThreads, 0, cuda::detail::launch_stream(g.stream)>>>(
      g, x.data_ptr<T>(), mean.data_ptr<T>(), var.data_ptr<T>());
  KILN_CUDA_KERNEL_CHECK();
}
template <typename T>
void apply(const BatchNormGeometry& g, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& w,
           const Tensor& b, Tensor& y) {
  const int64_t n = g.n * g.c * g.s;
  if (n == 0) return;
  cuda::DeviceGuard guard(g.stream.device());
  constexpr int threads = 256;
  apply_kernel<T><<<elementwise_blocks(n, threads), threads, 0, cuda::detail::launch_stream(g.stream)>>>(
      g, x.data_ptr<T>(), mean.data_ptr<T>(), invstd.data_ptr<T>(), data_or_null<T>(w), data_or_null<T>(b),
      y.data_ptr<T>());
  KILN_CUDA_KERNEL_CHECK();
}
template <typename T>
void backward(const BatchNormGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& mean, const Tensor& invstd,
              const Tensor& w, bool training, Tensor& gx, Tensor& gw, Tensor& gb) {
  if (g.c == 0) return;
  cuda::DeviceGuard guard(g.stream.device());
  backward_kernel<T><<<static_cast<unsigned>(g.c), kReduceThreads, 0, cuda::detail::launch_stream(g.stream)>>>(
      g, x.data_ptr<T>(), gy.data_ptr<T>(), mean.data_ptr<T>(), invstd.data_ptr<T>(), data_or_null<T>(w), training,
      data_or_null<T>(gx), data_or_null<T>(gw), data_or_null<T>(gb));
  KILN_CUDA_KERNEL_CHECK();
}

// float32 or float64: the front end has already refused other dtypes.
void stats_cuda(const BatchNormGeometry& g, const Tensor& x, Tensor& mean, Tensor& var) {
  if (g.dtype == kFloat64) stats<double>(g, x, mean, var);
  else stats<float>(g, x, mean, var);
}
void apply_cuda(const BatchNormGeometry& g, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& w,
                const Tensor& b, Tensor& y) {
  if (g.dtype == kFloat64) apply<double>(g, x, mean, invstd, w, b, y);
  else apply<float>(g, x, mean, invstd, w, b, y);
}
void backward_cuda(const BatchNormGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& mean,
                   const Tensor& invstd, const Tensor& w, bool training, Tensor& gx, Tensor& gw, Tensor& gb) {
  if (g.dtype == kFloat64) backward<double>(g, x, gy, mean, invstd, w, training, gx, gw, gb);
  else backward<float>(g, x, gy, mean, invstd, w, training, gx, gw, gb);
}
}  // namespace

KILN_REGISTER_KERNEL(batch_norm_stats_stub, kCUDA, stats_cuda);
KILN_REGISTER_KERNEL(batch_norm_apply_stub, kCUDA, apply_cuda);
KILN_REGISTER_KERNEL(batch_norm_backward_stub, kCUDA, backward_cuda);
}  // namespace kiln::ops
