// CUDA kernels of the fused optimizer updates: one grid-stride kernel per parameter on the front end's stream.
#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/elementwise/cuda_loop.cuh"
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
KILN_REGISTER_KERNEL(sgd_step_stub, kCUDA, sgd_cuda);
KILN_REGISTER_KERNEL(rmsprop_step_stub, kCUDA, rmsprop_cuda);
KILN_REGISTER_KERNEL(adagrad_step_stub, kCUDA, adagrad_cuda);
}  // namespace kiln::ops
