// CUDA kernels of the fused mean-squared-error loss: one block per kMseChunk elements writes a partial sum in
// double and one block adds the partials in order (a single block writes the loss itself), so the result is
// deterministic; the gradient is one elementwise kernel that reads the incoming gradient on the device.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/data_or_null.h"
#include "ops/elementwise/cuda_loop.cuh"
#include "ops/loss/mse_kernels.h"
#include "ops/reduce/cuda_block_reduce.cuh"

namespace kiln::ops {
namespace {
constexpr int kThreads = 256;

// The sum of v over the block (valid in thread 0), by the same fixed shuffle tree on every run.
__device__ double block_sum(double v, double* smem) {
  return cuda_reduce::block_combine(cuda_reduce::SumCombine<double>{}, v, smem);
}

template <typename T>
__device__ void write_loss(const MseCall& call, double sum, T* out) {
  *out = static_cast<T>(!call.mean ? sum : call.n == 0 ? NAN : sum / static_cast<double>(call.n));
}

// Block b sums chunk b; with one chunk it writes the loss, else the chunk's partial.
template <typename T>
__global__ void chunk_kernel(MseCall call, const T* x, const T* t, double* partial, T* out) {
  __shared__ double smem[32];
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * kMseChunk, end = min(call.n, begin + kMseChunk);
  double acc = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const T d = x[i] - t[i];
    acc += d * d;
  }
  const double sum = block_sum(acc, smem);
  if (threadIdx.x != 0) return;
  if (gridDim.x == 1) write_loss(call, sum, out);
  else partial[blockIdx.x] = sum;
}

template <typename T>
__global__ void partials_kernel(MseCall call, const double* partial, int64_t chunks, T* out) {
  __shared__ double smem[32];
  double acc = 0;
  for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) acc += partial[c];
  const double sum = block_sum(acc, smem);
  if (threadIdx.x == 0) write_loss(call, sum, out);
}

template <typename T>
__global__ void backward_kernel(MseCall call, const T* x, const T* t, const T* grad, T* gx, T* gt) {
  const T f = mse_grad_factor<T>(*grad, call.n, call.mean);
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < call.n; i += stride) {
    const T g = mse_grad<T>(x[i], t[i], f);
    if (gx) gx[i] = g;
    if (gt) gt[i] = -g;
  }
}

template <typename T>
void forward_typed(const MseCall& call, const Tensor& x, const Tensor& t, Tensor& out) {
  cuda::DeviceGuard guard(call.stream.device());
  cudaStream_t stream = cuda::detail::launch_stream(call.stream);
  const int64_t chunks = std::max<int64_t>(1, (call.n + kMseChunk - 1) / kMseChunk);
  Tensor partial;
  if (chunks > 1) partial = make_tensor({chunks}, kFloat64, x.device());
  chunk_kernel<T><<<static_cast<unsigned>(chunks), kThreads, 0, stream>>>(
      call, x.data_ptr<T>(), t.data_ptr<T>(), chunks > 1 ? partial.data_ptr<double>() : nullptr, out.data_ptr<T>());
  KILN_CUDA_KERNEL_CHECK();
  if (chunks == 1) return;
  partials_kernel<T><<<1, kThreads, 0, stream>>>(call, partial.data_ptr<double>(), chunks, out.data_ptr<T>());
  KILN_CUDA_KERNEL_CHECK();
}

template <typename T>
void backward_typed(const MseCall& call, const Tensor& x, const Tensor& t, const Tensor& grad, Tensor& grad_x,
                    Tensor& grad_t) {
  if (call.n == 0) return;
  cuda::DeviceGuard guard(call.stream.device());
  backward_kernel<T><<<elementwise_blocks(call.n, kThreads), kThreads, 0, cuda::detail::launch_stream(call.stream)>>>(
      call, x.data_ptr<T>(), t.data_ptr<T>(), grad.data_ptr<T>(), data_or_null<T>(grad_x),
      data_or_null<T>(grad_t));
  KILN_CUDA_KERNEL_CHECK();
}

// float32 or float64: other dtypes take the composite.
void forward_cuda(const MseCall& call, const Tensor& x, const Tensor& t, Tensor& out) {
  if (call.dtype == kFloat64) forward_typed<double>(call, x, t, out);
  else forward_typed<float>(call, x, t, out);
}
void backward_cuda(const MseCall& call, const Tensor& x, const Tensor& t, const Tensor& grad, Tensor& grad_x,
                   Tensor& grad_t) {
  if (call.dtype == kFloat64) backward_typed<double>(call, x, t, grad, grad_x, grad_t);
  else backward_typed<float>(call, x, t, grad, grad_x, grad_t);
}
}  // namespace
KILN_REGISTER_KERNEL(mse_forward_stub, kCUDA, forward_cuda);
KILN_REGISTER_KERNEL(mse_backward_stub, kCUDA, backward_cuda);
}  // namespace kiln::ops
