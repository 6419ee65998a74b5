// cuBLAS's entry points as kiln calls them, resolved from libcublas.so.<major> on first use (only for .cu and
// *_cuda.cpp files).
#pragma once
#include <cublas_v2.h>

namespace kiln::cuda::detail {

/// The few cuBLAS functions kiln uses. cuBLAS (with cuBLASLt, which it loads) is about 600 MB of shared library
/// whose loading alone makes ~215 MB resident, so libkiln does not link it: a process that never multiplies
/// matrices on a GPU (kiln info, CPU training) never maps it. Names are cuBLAS's macros (cublasCreate is
/// cublasCreate_v2), so each member is the function the header declares.
struct CublasApi {
  decltype(&cublasCreate) create;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasSetWorkspace) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetAtomicsMode) set_atomics_mode;
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
  // The header overloads these two (an inline form taking a cudaDataType compute type): name the exported one.
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
  cublasStatus_t (*gemm_strided_batched_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                            const void*, const void*, cudaDataType, int, long long int, const void*,
                                            cudaDataType, int, long long int, const void*, void*, cudaDataType, int,
                                            long long int, int, cublasComputeType_t, cublasGemmAlgo_t);
};

/// Loads cuBLAS once (thread-safe) and returns its functions. Looks for libcublas.so.<major of the CUDA kiln was
/// built with> on the loader's path (LD_LIBRARY_PATH, the cache), then where the build found it. Throws CudaError
/// naming the library and the loader's reason when it is missing or lacks a function.
const CublasApi& cublas();

/// Whether cuBLAS has been loaded in this process (tests: nothing on the CPU path loads it).
bool cublas_loaded();

}  // namespace kiln::cuda::detail
