// The device side of a value check, shared by the index and value checks: a scan kernel lowers a verdict to
// the position of the first bad element (atomicMin, so the CPU's "first" whatever thread runs first), then one
// thread records that element as a CheckFailure (backend/cuda/device_checks.h). Nothing waits for the GPU; a
// later kernel on the same stream may read the verdict to skip work on bad input.
#pragma once
#include <climits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_checks.h"
#include "kiln/tensor/tensor.h"
#include "ops/check/check_failure.h"

namespace kiln::ops {

constexpr unsigned long long kNoBadElement = ULLONG_MAX;

/// A fresh verdict on `device`: one uint64 set to kNoBadElement on `stream`. From the caching allocator, so a
/// check costs no cudaMalloc; it lives as long as the returned tensor (keep it until the work that reads it
/// is queued: the allocator then reuses it only after that work, on the same stream).
inline Tensor new_verdict(Device device, cudaStream_t stream) {
  Tensor v = make_tensor({1}, kInt64, device);
  KILN_CUDA_CHECK(cudaMemsetAsync(v.data_ptr(), 0xff, sizeof(unsigned long long), stream));
  return v;
}

inline unsigned long long* verdict_ptr(const Tensor& v) {
  return reinterpret_cast<unsigned long long*>(v.data_ptr<int64_t>());
}

template <typename ValueAt>
__global__ void record_first_bad_kernel(const unsigned long long* verdict, CheckFailure failure,
                                        cuda::detail::DeviceCheckSlot slot, ValueAt value_at) {
  const unsigned long long p = *verdict;
  if (p == kNoBadElement) return;
  cuda::detail::record_failure(slot, failure.with_value(static_cast<int64_t>(p), value_at(static_cast<int64_t>(p))));
}

/// Queues the recording of the verdict's element; `value_at(position)` (a device functor) reads its value.
template <typename ValueAt>
void record_first_bad(const Tensor& verdict, const CheckFailure& failure, const ValueAt& value_at, int device,
                      cudaStream_t stream) {
  const cuda::detail::DeviceCheckSlot slot = cuda::detail::device_check_slot(device);
  record_first_bad_kernel<<<1, 1, 0, stream>>>(verdict_ptr(verdict), failure, slot, value_at);
  KILN_CUDA_KERNEL_CHECK();
  cuda::detail::after_device_check(stream, device);
}
}  // namespace kiln::ops
