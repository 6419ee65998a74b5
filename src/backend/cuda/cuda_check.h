// Error checks for CUDA runtime and library calls (only for .cu and *_cuda.cpp files): they throw with the call, file
// and line.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda::detail {
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t st, const char* expr, const char* file, int line);
[[noreturn]] void throw_missing_stream();
/// The raw handle of the stream a kernel's arguments carry (filled by the op's front end with ops::op_stream).
/// Launchers use this, never the thread-local current stream, so a kernel runs where its arguments say. A null
/// handle is a front end that forgot to fill it: that throws rather than launching on the legacy stream 0,
/// which kiln's non-blocking streams are not ordered against.
inline cudaStream_t launch_stream(const Stream& s) {
  if (!s.handle()) throw_missing_stream();
  return static_cast<cudaStream_t>(s.handle());
}
/// The cuBLAS handle of the current device, bound to `stream` (a stream of that device).
cublasHandle_t cublas_handle(cudaStream_t stream);
/// Workspace for cuBLAS/cuBLASLt on the current device and `stream` (lives as long as the process).
void* cublas_workspace(cudaStream_t stream, size_t* bytes);
/// Whether `device` already has its primary context (asking creates none). True when the driver cannot say.
bool has_primary_context(int device);
/// DeviceGuard's switch for code that must not throw (frees): returns what to pass to leave_device_noexcept.
int enter_device_noexcept(int target) noexcept;
void leave_device_noexcept(int previous) noexcept;
/// A device that already has a context, the current one first; -1 when none has (or no GPU is usable).
/// Host-side CUDA calls that any device may serve (cudaHostAlloc) run there, so they create no new context.
int device_with_context();
}  // namespace kiln::cuda::detail

#define KILN_CUDA_CHECK(expr)                                                                                   \
  do {                                                                                                          \
    cudaError_t kiln_err_ = (expr);                                                                             \
    if (kiln_err_ != cudaSuccess) ::kiln::cuda::detail::throw_cuda_error(kiln_err_, #expr, __FILE__, __LINE__); \
  } while (0)

/// After every kernel launch: launch-configuration errors surface here, not at a later sync.
#define KILN_CUDA_KERNEL_CHECK() KILN_CUDA_CHECK(cudaGetLastError())

#define KILN_CUBLAS_CHECK(expr)                                                      \
  do {                                                                               \
    cublasStatus_t kiln_st_ = (expr);                                                \
    if (kiln_st_ != CUBLAS_STATUS_SUCCESS)                                           \
      ::kiln::cuda::detail::throw_cublas_error(kiln_st_, #expr, __FILE__, __LINE__); \
  } while (0)
