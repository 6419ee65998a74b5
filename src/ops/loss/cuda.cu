// CUDA kernels of the fused softmax cross-entropy: one warp per row (its lanes stride over the classes and
// combine with shuffles), and for Mean/Sum one block that adds the rows in a fixed order (in double), so the
// result is deterministic. The row math is cross_entropy_kernels.h's, which the CPU runs too.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/data_or_null.h"
#include "ops/loss/cross_entropy_kernels.h"
#include "ops/reduce/cuda_block_reduce.cuh"
#include "ops/reduce/reduce_functors.h"

namespace kiln::ops {
namespace {
constexpr int kThreads = 256, kWarpsPerBlock = kThreads / 32, kReduceThreads = 512;
constexpr int64_t kMaxBlocks = 65535;

// The sum of v over the warp, in every lane.
template <typename T>
__device__ T warp_sum_all(T v) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
  return __shfl_sync(0xffffffffu, v, 0);
}

unsigned row_blocks(int64_t rows) {
  return static_cast<unsigned>(std::clamp<int64_t>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock, 1, kMaxBlocks));
}

// Warp w of the grid takes rows w, w + warps, ...; the loop bound is the same for every lane of a warp, so
// the shuffles always see the whole warp.
template <typename T>
__global__ void forward_rows_kernel(CrossEntropyCall call, const T* x, const int64_t* target, const T* weight, T* lse,
                                    T* row_loss) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  const int64_t C = call.c;
  const T ls = static_cast<T>(call.label_smoothing);
  LogSumExpOp<T> op;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < call.n; i += warps) {
    const T* row = x + i * C;
    auto acc = op.identity();
    for (int64_t k = lane; k < C; k += 32) acc = op.reduce(acc, row[k], k);
    acc = cuda_reduce::warp_combine(op, acc);
    acc.m = __shfl_sync(0xffffffffu, acc.m, 0);
    acc.s = __shfl_sync(0xffffffffu, acc.s, 0);
    const T l = LogSumExpOp<T>::value(acc);
    const int64_t t = target[i];
    T smooth = 0;
    if (ls > T(0) && t != call.ignore_index) {
      for (int64_t k = lane; k < C; k += 32) smooth += (weight ? weight[k] : T(1)) * (l - row[k]);
      smooth = warp_sum_all(smooth);
    }
    if (lane == 0) {
      lse[i] = l;
      row_loss[i] = t == call.ignore_index
                        ? T(0)
                        : ce_row_loss<T>(l, row[t], ce_target_weight<T>(weight, t, call.ignore_index), smooth, ls, C);
    }
  }
}

// One block: the rows' losses and kept weights added in double, each thread over a fixed stride, then the block's
// fixed shuffle tree.
template <typename T>
__global__ void reduce_kernel(CrossEntropyCall call, const int64_t* target, const T* weight, const T* row_loss, T* out,
                              T* total_weight) {
  __shared__ double s_loss[32], s_kept[32];
  double loss = 0, kept = 0;
  for (int64_t i = threadIdx.x; i < call.n; i += blockDim.x) {
    loss += row_loss[i];
    kept += ce_target_weight<double>(weight, target[i], call.ignore_index);
  }
  loss = cuda_reduce::block_combine(cuda_reduce::SumCombine<double>{}, loss, s_loss);
  kept = cuda_reduce::block_combine(cuda_reduce::SumCombine<double>{}, kept, s_kept);
  if (threadIdx.x == 0) {
    const double sum = loss, k = kept;
    *total_weight = static_cast<T>(k);
    const bool mean = call.reduction == CrossEntropyReduction::Mean;
    *out = static_cast<T>(!mean ? sum : k == 0 ? NAN : sum / k);
  }
}

template <typename T>
__global__ void backward_rows_kernel(CrossEntropyCall call, const T* x, const int64_t* target, const T* weight,
                                     const T* lse, const T* grad, const T* total_weight, T* grad_x) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  const int64_t C = call.c;
  const T ls = static_cast<T>(call.label_smoothing);
  const T tw = total_weight ? *total_weight : T(0);
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < call.n; i += warps) {
    const T* row = x + i * C;
    T* g = grad_x + i * C;
    const int64_t t = target[i];
    if (t == call.ignore_index) {
      for (int64_t k = lane; k < C; k += 32) g[k] = T(0);
      continue;
    }
    T w_sum = static_cast<T>(C);
    if (weight && ls > T(0)) {
      T part = 0;
      for (int64_t k = lane; k < C; k += 32) part += weight[k];
      w_sum = warp_sum_all(part);
    }
    const T f = ce_grad_factor<T>(call.reduction, grad, i, tw);
    const T w_t = ce_target_weight<T>(weight, t, call.ignore_index), l = lse[i];
    for (int64_t k = lane; k < C; k += 32)
      g[k] = f * ce_row_grad<T>(rmath::exp(row[k] - l), k == t, w_t, weight ? weight[k] : T(1), w_sum, ls, C);
  }
}

template <typename T>
void forward_typed(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                   Tensor& lse, Tensor& row_loss, Tensor& out, Tensor& total_weight) {
  if (call.n == 0 && call.reduction == CrossEntropyReduction::None) return;
  cuda::DeviceGuard guard(call.stream.device());
  cudaStream_t stream = cuda::detail::launch_stream(call.stream);
  if (call.n > 0) {
    forward_rows_kernel<T><<<row_blocks(call.n), kThreads, 0, stream>>>(
        call, x.data_ptr<T>(), target.data_ptr<int64_t>(), data_or_null<T>(weight), lse.data_ptr<T>(),
        row_loss.data_ptr<T>());
    KILN_CUDA_KERNEL_CHECK();
  }
  if (call.reduction == CrossEntropyReduction::None) return;
  reduce_kernel<T><<<1, kReduceThreads, 0, stream>>>(call, target.data_ptr<int64_t>(), data_or_null<T>(weight),
                                                     row_loss.data_ptr<T>(), out.data_ptr<T>(),
                                                     total_weight.data_ptr<T>());
  KILN_CUDA_KERNEL_CHECK();
}

template <typename T>
void backward_typed(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                    const Tensor& lse, const Tensor& grad, const Tensor& total_weight, Tensor& grad_x) {
  if (call.n == 0) return;
  cuda::DeviceGuard guard(call.stream.device());
  backward_rows_kernel<T><<<row_blocks(call.n), kThreads, 0, cuda::detail::launch_stream(call.stream)>>>(
      call, x.data_ptr<T>(), target.data_ptr<int64_t>(), data_or_null<T>(weight), lse.data_ptr<T>(),
      grad.data_ptr<T>(), data_or_null<T>(total_weight), grad_x.data_ptr<T>());
  KILN_CUDA_KERNEL_CHECK();
}

// float32 or float64: the front end computes 16-bit scores in float32.
void forward_cuda(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                  Tensor& lse, Tensor& row_loss, Tensor& out, Tensor& total_weight) {
  if (call.dtype == kFloat64) forward_typed<double>(call, x, target, weight, lse, row_loss, out, total_weight);
  else forward_typed<float>(call, x, target, weight, lse, row_loss, out, total_weight);
}
void backward_cuda(const CrossEntropyCall& call, const Tensor& x, const Tensor& target, const Tensor& weight,
                   const Tensor& lse, const Tensor& grad, const Tensor& total_weight, Tensor& grad_x) {
  if (call.dtype == kFloat64) backward_typed<double>(call, x, target, weight, lse, grad, total_weight, grad_x);
  else backward_typed<float>(call, x, target, weight, lse, grad, total_weight, grad_x);
}
}  // namespace
KILN_REGISTER_KERNEL(cross_entropy_forward_stub, kCUDA, forward_cuda);
KILN_REGISTER_KERNEL(cross_entropy_backward_stub, kCUDA, backward_cuda);
}  // namespace kiln::ops
