// CUDA kernels of the fused optimizer updates on the front end's stream: one grid-stride kernel per parameter,
// and Adam or SGD over many parameters in a few launches (their pointers travel in the kernel's arguments, cut into
// pieces by plan_multi_tensor).
#include <algorithm>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/elementwise/cuda_loop.cuh"
#include "ops/multi_tensor/plan.h"
#include "ops/optim/optim_functors.h"
#include "ops/optim/optim_kernels.h"

namespace kiln::ops {
namespace {
template <typename scalar_t, typename F>
__global__ void optim_kernel(int64_t n, OptimPtrs<scalar_t> ptrs, F f) {
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    optim_element(i, ptrs, f);
}

struct CudaLaunch {
  Device device;
  int64_t n;
  cuda::Stream stream;
  template <typename scalar_t, typename F>
  void operator()(const OptimPtrs<scalar_t>& ptrs, const F& f) const {
    if (n == 0) return;
    cuda::DeviceGuard guard(device);
    constexpr int threads = 256;
    optim_kernel<scalar_t, F><<<elementwise_blocks(n, threads), threads, 0, cuda::detail::launch_stream(stream)>>>(
        n, ptrs, f);
    KILN_CUDA_KERNEL_CHECK();
  }
};

constexpr int kPiecesPerLaunch = 32;  // 32 pieces of 5 pointers: an argument block near 2 KiB (the limit is 4)
constexpr int64_t kPieceChunk = 1 << 16;  // elements per block
constexpr int kMultiThreads = 512;

template <typename scalar_t>
struct OptimBatch {
  OptimPtrs<scalar_t> ptrs[kPiecesPerLaunch];
  int64_t numel[kPiecesPerLaunch];
  int32_t first_block[kPiecesPerLaunch + 1];  // block b serves piece p where first_block[p] <= b < first_block[p+1]
};

// live: the step's values in device memory (CUDA graphs), read into the functor once per thread; null otherwise.
template <typename scalar_t, typename F>
__global__ void optim_multi_kernel(OptimBatch<scalar_t> batch, F f, const double* live) {
  if (live) f.refresh(live);
  int p = 0;
  while (static_cast<int32_t>(blockIdx.x) >= batch.first_block[p + 1]) ++p;
  const int64_t begin = static_cast<int64_t>(blockIdx.x - batch.first_block[p]) * kPieceChunk;
  const int64_t end = min(begin + kPieceChunk, batch.numel[p]);
  const OptimPtrs<scalar_t> ptrs = batch.ptrs[p];
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) optim_element(i, ptrs, f);
}

// A piece's pointers: its tensor's, moved on by the piece's offset (unused state slots stay null).
template <typename scalar_t>
OptimPtrs<scalar_t> advanced(OptimPtrs<scalar_t> p, int64_t by) {
  p.param += by;
  p.grad += by;
  for (scalar_t*& s : p.state)
    if (s) s += by;
  return p;
}

// Every parameter of the list in a few launches: with_fn(body) calls body(TypeTag<scalar_t>, functor) with the
// optimizer's functor for the list's dtype and hyper-parameters.
template <typename WithFn>
void launch_many(const std::vector<OptimTensors>& list, cuda::Stream stream, const double* live, const WithFn& with_fn) {
  if (list.empty()) return;
  cuda::DeviceGuard guard(list.front().param.device());
  cudaStream_t s = cuda::detail::launch_stream(stream);
  std::vector<int64_t> numels;
  for (const OptimTensors& t : list) numels.push_back(t.param.numel());
  const std::vector<MultiTensorLaunch> launches = plan_multi_tensor(numels, kPiecesPerLaunch, kPieceChunk);
  with_fn([&](auto tag, const auto& f) {
    using scalar_t = typename decltype(tag)::type;
    using F = std::decay_t<decltype(f)>;
    for (const MultiTensorLaunch& l : launches) {
      OptimBatch<scalar_t> batch{};
      for (size_t p = 0; p < l.pieces.size(); ++p) {
        const OptimTensors& t = list[l.pieces[p].tensor];
        batch.ptrs[p] = advanced(optim_ptrs<scalar_t>(t.param, t.grad, t.state[0], t.state[1], t.state[2]),
                                 l.pieces[p].offset);
        batch.numel[p] = l.pieces[p].count;
      }
      std::copy(l.first_block.begin(), l.first_block.end(), batch.first_block);
      optim_multi_kernel<scalar_t, F><<<l.first_block.back(), kMultiThreads, 0, s>>>(batch, f, live);
      KILN_CUDA_KERNEL_CHECK();
    }
  });
}

void adam_many_cuda(const std::vector<OptimTensors>& list, const AdamHyper& h, cuda::Stream stream) {
  if (list.empty()) return;
  launch_many(list, stream, h.live, [&](const auto& body) { with_adam_fn(list.front().param.dtype(), h, body); });
}
void sgd_many_cuda(const std::vector<OptimTensors>& list, const SgdHyper& h, cuda::Stream stream) {
  if (list.empty()) return;
  launch_many(list, stream, h.live, [&](const auto& body) { with_sgd_fn(list.front().param.dtype(), h, body); });
}

void adam_cuda(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor& vmax,
               const AdamHyper& h, cuda::Stream s) {
  run_adam(p, g, m, v, vmax, h, CudaLaunch{p.device(), p.numel(), s});
}
void sgd_cuda(const Tensor& p, const Tensor& g, const Tensor& buf, const SgdHyper& h, cuda::Stream s) {
  run_sgd(p, g, buf, h, CudaLaunch{p.device(), p.numel(), s});
}
void rmsprop_cuda(const Tensor& p, const Tensor& g, const Tensor& sq, const Tensor& gavg, const Tensor& buf,
                  const RmspropHyper& h, cuda::Stream s) {
  run_rmsprop(p, g, sq, gavg, buf, h, CudaLaunch{p.device(), p.numel(), s});
}
void adagrad_cuda(const Tensor& p, const Tensor& g, const Tensor& sum, const AdagradHyper& h, cuda::Stream s) {
  run_adagrad(p, g, sum, h, CudaLaunch{p.device(), p.numel(), s});
}
}  // namespace
KILN_REGISTER_KERNEL(adam_step_stub, kCUDA, adam_cuda);
KILN_REGISTER_KERNEL(adam_many_stub, kCUDA, adam_many_cuda);
KILN_REGISTER_KERNEL(sgd_step_stub, kCUDA, sgd_cuda);
KILN_REGISTER_KERNEL(sgd_many_stub, kCUDA, sgd_many_cuda);
KILN_REGISTER_KERNEL(rmsprop_step_stub, kCUDA, rmsprop_cuda);
KILN_REGISTER_KERNEL(adagrad_step_stub, kCUDA, adagrad_cuda);
}  // namespace kiln::ops
