// Loads cuBLAS with dlopen on the first GPU matrix product (see cublas_api.h for why it is not linked).
#include "backend/cuda/cublas_api.h"

#include <atomic>
#include <string>

#include "core/shared_library.h"
#include "kiln/core/error.h"

// The real symbol behind a cuBLAS name: cublasCreate is a macro for cublasCreate_v2.
#define KILN_SYMBOL_NAME2(x) #x
#define KILN_SYMBOL_NAME(x) KILN_SYMBOL_NAME2(x)

namespace kiln::cuda::detail {
namespace {
std::atomic<bool> g_loaded{false};

void* open_cublas() {
  const std::string soname = "libcublas.so." KILN_SYMBOL_NAME(KILN_CUBLAS_MAJOR);
  std::string why;
  if (void* h = kiln::detail::open_first_library({soname, std::string(KILN_CUBLAS_BUILD_DIR) + "/" + soname}, why))
    return h;
  throw CudaError("cannot load cuBLAS (" + soname + "), which kiln needs for matrix products on the GPU: " + why +
                  ". Install CUDA " KILN_SYMBOL_NAME(KILN_CUBLAS_MAJOR) "'s cuBLAS, or put its folder on "
                  "LD_LIBRARY_PATH");
}

template <typename F>
void resolve(void* lib, F& fn, const char* name) {
  fn = kiln::detail::library_symbol<F>(lib, name);
  if (!fn) throw CudaError(std::string("cuBLAS has no function ") + name + " (a cuBLAS older than kiln's build?)");
}
}  // namespace

const CublasApi& cublas() {
  static const CublasApi api = [] {
    void* lib = open_cublas();
    CublasApi a{};
    resolve(lib, a.create, KILN_SYMBOL_NAME(cublasCreate));
    resolve(lib, a.set_stream, KILN_SYMBOL_NAME(cublasSetStream));
    resolve(lib, a.set_workspace, KILN_SYMBOL_NAME(cublasSetWorkspace));
    resolve(lib, a.set_math_mode, KILN_SYMBOL_NAME(cublasSetMathMode));
    resolve(lib, a.set_atomics_mode, KILN_SYMBOL_NAME(cublasSetAtomicsMode));
    resolve(lib, a.status_name, KILN_SYMBOL_NAME(cublasGetStatusName));
    resolve(lib, a.status_string, KILN_SYMBOL_NAME(cublasGetStatusString));
    resolve(lib, a.gemm_ex, KILN_SYMBOL_NAME(cublasGemmEx));
    resolve(lib, a.gemm_strided_batched_ex, KILN_SYMBOL_NAME(cublasGemmStridedBatchedEx));
    g_loaded = true;
    return a;
  }();
  return api;
}

bool cublas_loaded() { return g_loaded.load(); }

}  // namespace kiln::cuda::detail
