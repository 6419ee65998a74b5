// CUDA cumsum/cumprod: one thread per line (outer x inner), adjacent threads on adjacent columns, each running
// the CPU's scan_line, so both devices add in the same order.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/reduce/cumulative_kernels.h"

namespace kiln::ops {
namespace {
constexpr int64_t kMaxGrid = int64_t(1) << 30;

template <typename scalar_t>
__global__ void cumulative_kernel(const scalar_t* x, scalar_t* y, int64_t outer, int64_t K, int64_t inner,
                                  CumulativeOp op) {
  int64_t n = outer * inner, stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < n; t += stride) {
    int64_t base = (t / inner) * K * inner + t % inner;
    scan_line(x + base, y + base, K, inner, op);
  }
}

void cumulative_cuda(const Tensor& out, const Tensor& in, int64_t outer, int64_t K, int64_t inner, CumulativeOp op,
                     cuda::Stream s) {
  cuda::DeviceGuard guard(in.device());
  cudaStream_t stream = cuda::detail::launch_stream(s);
  KILN_DISPATCH_NUMERIC(in.dtype(), op == CumulativeOp::Sum ? "cumsum" : "cumprod", [&] {
    constexpr int threads = 256;
    int64_t lines = outer * inner;
    unsigned blocks = static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>((lines + threads - 1) / threads, 1), kMaxGrid));
    cumulative_kernel<scalar_t><<<blocks, threads, 0, stream>>>(static_cast<const scalar_t*>(in.data_ptr()), static_cast<scalar_t*>(out.data_ptr()), outer,
                                                                K, inner, op);
    KILN_CUDA_KERNEL_CHECK();
  });
}
}  // namespace
KILN_REGISTER_KERNEL(cumulative_stub, kCUDA, cumulative_cuda);
}  // namespace kiln::ops
