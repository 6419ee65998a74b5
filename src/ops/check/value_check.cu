// Value checks on CUDA: a grid-stride scan for the first bad element, recorded without a host wait.
#include "ops/check/cuda_first_bad.cuh"
#include "ops/check/value_check.h"

namespace kiln::ops {
namespace {
constexpr int kThreads = 256;

template <typename T>
__global__ void value_scan_kernel(const T* p, int64_t n, ValueRule rule, unsigned long long* verdict) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    if (!rule.accepts(p[i])) atomicMin(verdict, static_cast<unsigned long long>(i));
}

template <typename T>
struct ValueAt {
  const T* p;
  __device__ auto operator()(int64_t i) const {
    if constexpr (std::is_integral<T>::value)
      return static_cast<int64_t>(p[i]);
    else
      return static_cast<double>(static_cast<opmath_t<T>>(p[i]));
  }
};

Tensor value_check_cuda(const Tensor& values, const ValueRule& rule, const CheckFailure& failure,
                        cuda::Stream s) {
  const int64_t n = values.numel();
  const int device = values.device().index();
  cuda::DeviceGuard guard(device);
  cudaStream_t stream = cuda::detail::launch_stream(s);
  Tensor verdict = new_verdict(values.device(), stream);
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, 1024));
  KILN_DISPATCH_ALL(values.dtype(), "value check", [&] {
    const scalar_t* p = values.data_ptr<scalar_t>();
    value_scan_kernel<scalar_t><<<blocks, kThreads, 0, stream>>>(p, n, rule, verdict_ptr(verdict));
    KILN_CUDA_KERNEL_CHECK();
    record_first_bad(verdict, failure, ValueAt<scalar_t>{p}, device, stream);
  });
  return verdict;
}
}  // namespace
KILN_REGISTER_KERNEL(value_check_stub, kCUDA, value_check_cuda);
}  // namespace kiln::ops
