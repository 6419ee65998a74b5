// CUDA pooling kernels: one thread per output (forward) or per input pixel (backward, a gather: deterministic,
// no atomics), over the window functors the CPU loops share (pool_kernels.h); float32 and float64, NCHW or
// channels-last (threads walk the logical order; the functors take the pixel stride).
#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/elementwise/cuda_loop.cuh"
#include "ops/pool/pool_kernels.h"

namespace kiln::ops {
namespace {
constexpr int kThreads = 256;

template <typename F>
__global__ void pool_kernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) f(i);
}

template <typename F>
void launch(const PoolGeometry& g, int64_t n, const F& f) {
  if (n == 0) return;
  cuda::DeviceGuard guard(g.stream.device());
  pool_kernel<<<elementwise_blocks(n, kThreads), kThreads, 0, cuda::detail::launch_stream(g.stream)>>>(n, f);
  KILN_CUDA_KERNEL_CHECK();
}

template <typename T>
struct MaxForward {
  PoolGeometry g;
  const T* x;
  T* y;
  int64_t* idx;
  __device__ void operator()(int64_t o) const {
    const int64_t plane = o / (g.oh * g.ow), r = o % (g.oh * g.ow);
    const int64_t at = pool_plane_start(g, plane, g.oh * g.ow) + r * pool_pixel_stride(g);
    max_window(g, x + pool_plane_start(g, plane, g.h * g.w), r / g.ow, r % g.ow, y[at], idx[at]);
  }
};
template <typename T>
struct MaxBackward {
  PoolGeometry g;
  const T* gy;
  const int64_t* idx;
  T* gx;
  __device__ void operator()(int64_t i) const {
    const int64_t plane = i / (g.h * g.w), r = i % (g.h * g.w), out = pool_plane_start(g, plane, g.oh * g.ow);
    gx[pool_plane_start(g, plane, g.h * g.w) + r * pool_pixel_stride(g)] =
        max_grad_at(g, gy + out, idx + out, r / g.w, r % g.w);
  }
};
template <typename T>
struct AvgForward {
  PoolGeometry g;
  const T* x;
  T* y;
  __device__ void operator()(int64_t o) const {
    const int64_t plane = o / (g.oh * g.ow), r = o % (g.oh * g.ow);
    y[pool_plane_start(g, plane, g.oh * g.ow) + r * pool_pixel_stride(g)] =
        avg_window(g, x + pool_plane_start(g, plane, g.h * g.w), r / g.ow, r % g.ow);
  }
};
template <typename T>
struct AvgBackward {
  PoolGeometry g;
  const T* gy;
  T* gx;
  __device__ void operator()(int64_t i) const {
    const int64_t plane = i / (g.h * g.w), r = i % (g.h * g.w);
    gx[pool_plane_start(g, plane, g.h * g.w) + r * pool_pixel_stride(g)] =
        avg_grad_at(g, gy + pool_plane_start(g, plane, g.oh * g.ow), r / g.w, r % g.w);
  }
};

// float32 or float64: the front end has already refused other dtypes.
void max_forward_cuda(const PoolGeometry& g, const Tensor& x, Tensor& y, Tensor& i) {
  const int64_t n = g.planes * g.oh * g.ow;
  if (g.dtype == kFloat64) launch(g, n, MaxForward<double>{g, x.data_ptr<double>(), y.data_ptr<double>(), i.data_ptr<int64_t>()});
  else launch(g, n, MaxForward<float>{g, x.data_ptr<float>(), y.data_ptr<float>(), i.data_ptr<int64_t>()});
}
void max_backward_cuda(const PoolGeometry& g, const Tensor& gy, const Tensor& i, Tensor& gx) {
  const int64_t n = g.planes * g.h * g.w;
  if (g.dtype == kFloat64)
    launch(g, n, MaxBackward<double>{g, gy.data_ptr<double>(), i.data_ptr<int64_t>(), gx.data_ptr<double>()});
  else launch(g, n, MaxBackward<float>{g, gy.data_ptr<float>(), i.data_ptr<int64_t>(), gx.data_ptr<float>()});
}
void avg_forward_cuda(const PoolGeometry& g, const Tensor& x, Tensor& y) {
  const int64_t n = g.planes * g.oh * g.ow;
  if (g.dtype == kFloat64) launch(g, n, AvgForward<double>{g, x.data_ptr<double>(), y.data_ptr<double>()});
  else launch(g, n, AvgForward<float>{g, x.data_ptr<float>(), y.data_ptr<float>()});
}
void avg_backward_cuda(const PoolGeometry& g, const Tensor& gy, Tensor& gx) {
  const int64_t n = g.planes * g.h * g.w;
  if (g.dtype == kFloat64) launch(g, n, AvgBackward<double>{g, gy.data_ptr<double>(), gx.data_ptr<double>()});
  else launch(g, n, AvgBackward<float>{g, gy.data_ptr<float>(), gx.data_ptr<float>()});
}
}  // namespace

KILN_REGISTER_KERNEL(max_pool2d_forward_stub, kCUDA, max_forward_cuda);
KILN_REGISTER_KERNEL(max_pool2d_backward_stub, kCUDA, max_backward_cuda);
KILN_REGISTER_KERNEL(avg_pool2d_forward_stub, kCUDA, avg_forward_cuda);
KILN_REGISTER_KERNEL(avg_pool2d_backward_stub, kCUDA, avg_backward_cuda);
}  // namespace kiln::ops
