// Error checks for CUDA runtime and library calls (only for .cu and *_cuda.cpp files): they throw with the call, file
// and line.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kiln/core/error.h"

namespace kiln::cuda::detail {
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t st, const char* expr, const char* file, int line);
/// The raw current stream of the current device (what kernels launch on).
cudaStream_t current_raw_stream();
/// The cuBLAS handle of the current device, bound to the current stream.
cublasHandle_t cublas_handle();
/// Workspace for cuBLAS/cuBLASLt on the current device (lives as long as the process).
void* cublas_workspace(size_t* bytes);
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
