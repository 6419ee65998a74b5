// CUDA kernel of the random family: the same Philox element function as the CPU loop.
#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/random/random_kernels.h"

namespace kiln::ops {
namespace {
template <typename T>
__global__ void random_kernel(T* out, int64_t n, RandomParams p) {
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    out[i] = static_cast<T>(random_value(p.kind, p.a, p.b, p.seed, p.offset, i));
}
void random_cuda(const Tensor& out, const RandomParams& p) {
  if (out.numel() == 0) return;
  cuda::DeviceGuard guard(out.device());
  KILN_DISPATCH_NUMERIC(out.dtype(), "random", [&] {
    int64_t n = out.numel();
    unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 4096));
    random_kernel<scalar_t><<<blocks, 256, 0, cuda::detail::launch_stream(p.stream)>>>(out.data_ptr<scalar_t>(), n, p);
    KILN_CUDA_KERNEL_CHECK();
  });
}
}  // namespace
KILN_REGISTER_KERNEL(random_stub, kCUDA, random_cuda);
}  // namespace kiln::ops
