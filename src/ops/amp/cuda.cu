// CUDA kernels of GradScaler's helpers: unscaling is one launch per batch of up to kTensorsPerLaunch gradient
// pieces (their pointers travel in the kernel's arguments, so nothing is copied to the device first; the pieces
// come from plan_multi_tensor), and the scale moves in a one-thread kernel. Both read the scale and the flag from
// device memory: no host wait.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/amp/amp_functors.h"
#include "ops/amp/amp_kernels.h"
#include "ops/multi_tensor/plan.h"

namespace kiln::ops {
namespace {
constexpr int kTensorsPerLaunch = 48;   // keeps the argument block near 1 KiB, far under the 4 KiB limit
constexpr int64_t kChunk = 1 << 16;     // elements per block
constexpr int kThreads = 512;

struct TensorBatch {
  void* data[kTensorsPerLaunch];
  int64_t numel[kTensorsPerLaunch];
  int32_t first_block[kTensorsPerLaunch + 1];  // block b serves tensor t where first_block[t] <= b < first_block[t+1]
};

template <typename scalar_t>
__global__ void unscale_kernel(TensorBatch batch, float* found_inf, const float* inv_scale) {
  int t = 0;
  while (static_cast<int32_t>(blockIdx.x) >= batch.first_block[t + 1]) ++t;
  const int64_t begin = static_cast<int64_t>(blockIdx.x - batch.first_block[t]) * kChunk;
  const int64_t end = min(begin + kChunk, batch.numel[t]);
  scalar_t* data = static_cast<scalar_t*>(batch.data[t]);
  const float inv = *inv_scale;
  bool bad = false;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) data[i] = unscale_element(data[i], inv, bad);
  if (bad) *found_inf = 1.f;  // every writer stores the same value
}

__global__ void update_scale_kernel(float* scale, int32_t* growth_tracker, const float* found_inf, float growth,
                                    float backoff, int32_t interval) {
  update_scale_element(*scale, *growth_tracker, *found_inf, growth, backoff, interval);
}

void unscale_cuda(const std::vector<Tensor>& grads, const Tensor& found_inf, const Tensor& inv_scale,
                  cuda::Stream stream) {
  if (grads.empty()) return;
  cuda::DeviceGuard guard(found_inf.device());
  cudaStream_t s = cuda::detail::launch_stream(stream);
  std::vector<int64_t> numels;
  for (const Tensor& g : grads) numels.push_back(g.numel());
  const std::vector<MultiTensorLaunch> launches = plan_multi_tensor(numels, kTensorsPerLaunch, kChunk);
  KILN_DISPATCH_FLOATING(grads.front().dtype(), "amp_unscale", [&] {
    for (const MultiTensorLaunch& l : launches) {
      TensorBatch batch{};
      for (size_t p = 0; p < l.pieces.size(); ++p) {
        batch.data[p] = static_cast<scalar_t*>(grads[l.pieces[p].tensor].data_ptr()) + l.pieces[p].offset;
        batch.numel[p] = l.pieces[p].count;
      }
      std::copy(l.first_block.begin(), l.first_block.end(), batch.first_block);
      unscale_kernel<scalar_t><<<l.first_block.back(), kThreads, 0, s>>>(batch, found_inf.data_ptr<float>(),
                                                                         inv_scale.data_ptr<float>());
      KILN_CUDA_KERNEL_CHECK();
    }
  });
}

void update_scale_cuda(const Tensor& scale, const Tensor& growth_tracker, const Tensor& found_inf,
                       const ScaleUpdate& rule, cuda::Stream stream) {
  cuda::DeviceGuard guard(scale.device());
  update_scale_kernel<<<1, 1, 0, cuda::detail::launch_stream(stream)>>>(
      scale.data_ptr<float>(), growth_tracker.data_ptr<int32_t>(), found_inf.data_ptr<float>(),
      static_cast<float>(rule.growth_factor), static_cast<float>(rule.backoff_factor),
      static_cast<int32_t>(rule.growth_interval));
  KILN_CUDA_KERNEL_CHECK();
}
}  // namespace
KILN_REGISTER_KERNEL(amp_unscale_stub, kCUDA, unscale_cuda);
KILN_REGISTER_KERNEL(amp_update_scale_stub, kCUDA, update_scale_cuda);
}  // namespace kiln::ops
