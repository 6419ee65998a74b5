// CUDA GEMM through cuBLAS: f32 and f64 in their own precision (no TF32, like PyTorch's default), f16/bf16 on
// tensor cores with float32 accumulation. Row-major products are issued as column-major C^T = B^T A^T.
#include <climits>

#include "backend/cuda/cublas_api.h"
#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/linalg/linalg_kernels.h"

namespace kiln::ops {
namespace {

// Some cuBLAS batched kernels put the batch on a grid dimension limited to 65535 blocks.
constexpr int64_t kMaxBatchPerCall = 65535;

void check_int(const GemmParams& p) {
  for (int64_t v : {p.m, p.n, p.k, p.a.ld, p.b.ld, p.ldc})
    KILN_CHECK(v <= INT_MAX, p.op, ": a matrix dimension or leading dimension of ", v, " exceeds cuBLAS's limit (",
               INT_MAX, ")");
}

void gemm_cuda(const GemmParams& p) {
  if (p.batch == 0 || p.m == 0 || p.n == 0) return;
  // The front end turns k == 0 into a fill or a scale, so cuBLAS never sees an empty inner dimension.
  KILN_CHECK(p.k > 0, p.op, ": internal error: empty inner dimension reached cuBLAS");
  cudaDataType_t type;
  cublasComputeType_t compute;
  switch (p.dtype) {
    case DType::Float32: type = CUDA_R_32F; compute = CUBLAS_COMPUTE_32F; break;
    case DType::Float64: type = CUDA_R_64F; compute = CUBLAS_COMPUTE_64F; break;
    case DType::Float16: type = CUDA_R_16F; compute = CUBLAS_COMPUTE_32F; break;
    case DType::BFloat16: type = CUDA_R_16BF; compute = CUBLAS_COMPUTE_32F; break;
    default:
      throw NotImplemented(detail::str(p.op, ": matrix products have no CUDA kernel for ", dtype_name(p.dtype),
                                       " (PyTorch has none either); cast the operands to a floating dtype"));
  }
  check_int(p);
  cuda::DeviceGuard guard(p.device);
  cublasHandle_t handle = cuda::detail::cublas_handle(cuda::detail::launch_stream(p.stream));
  // alpha/beta are in the compute type: double for COMPUTE_64F, float otherwise.
  float falpha = static_cast<float>(p.alpha), fbeta = static_cast<float>(p.beta);
  double dalpha = p.alpha, dbeta = p.beta;
  const void* alpha = compute == CUBLAS_COMPUTE_64F ? static_cast<const void*>(&dalpha) : &falpha;
  const void* beta = compute == CUBLAS_COMPUTE_64F ? static_cast<const void*>(&dbeta) : &fbeta;
  // Row-major X with ld is column-major X^T with the same ld, so C^T[n, m] = op(B)^T op(A)^T: B goes first.
  cublasOperation_t op_b = p.b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_a = p.a.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int m = static_cast<int>(p.n), n = static_cast<int>(p.m), k = static_cast<int>(p.k);
  const size_t esize = element_size(p.dtype);
  if (p.batch == 1) {
    KILN_CUBLAS_CHECK(cuda::detail::cublas().gemm_ex(handle, op_b, op_a, m, n, k, alpha, p.b.data, type, static_cast<int>(p.b.ld),
                                   p.a.data, type, static_cast<int>(p.a.ld), beta, p.c, type,
                                   static_cast<int>(p.ldc), compute, CUBLAS_GEMM_DEFAULT));
    return;
  }
  for (int64_t b0 = 0; b0 < p.batch; b0 += kMaxBatchPerCall) {
    int count = static_cast<int>(std::min(kMaxBatchPerCall, p.batch - b0));
    const char* a = static_cast<const char*>(p.a.data) + b0 * p.a.batch_stride * esize;
    const char* b = static_cast<const char*>(p.b.data) + b0 * p.b.batch_stride * esize;
    char* c = static_cast<char*>(p.c) + b0 * p.c_batch_stride * esize;
    KILN_CUBLAS_CHECK(cuda::detail::cublas().gemm_strided_batched_ex(
        handle, op_b, op_a, m, n, k, alpha, b, type, static_cast<int>(p.b.ld), p.b.batch_stride, a, type,
        static_cast<int>(p.a.ld), p.a.batch_stride, beta, c, type, static_cast<int>(p.ldc), p.c_batch_stride, count,
        compute, CUBLAS_GEMM_DEFAULT));
  }
}
}  // namespace
KILN_REGISTER_KERNEL(gemm_stub, kCUDA, gemm_cuda);
}  // namespace kiln::ops
