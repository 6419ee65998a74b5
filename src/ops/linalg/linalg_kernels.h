// Dispatch stub of the linalg family: one (batched, strided) GEMM in row-major terms.
#pragma once
#include <cstdint>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/cuda/cuda.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// A row-major matrix operand of a GEMM. Element (i, j) of op(X) lives at
/// data[b * batch_stride + (trans ? j * ld + i : i * ld + j)] for batch b; ld >= max(1, stored row length).
struct GemmOperand {
  const void* data = nullptr;
  bool trans = false;
  int64_t ld = 1;
  int64_t batch_stride = 0;  // 0 repeats one matrix for every batch (a broadcast operand)
};

/// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b < batch, with op(A) [m, k], op(B) [k, n] and C
/// [m, n] row-major (C[i][j] at c + b * c_batch_stride + i * ldc + j). All operands share `dtype`.
/// beta == 0 means C is written without being read (NaNs already in C do not propagate, as BLAS).
struct GemmParams {
  DType dtype = DType::Float32;
  Device device;
  cuda::Stream stream;  // where cuBLAS runs (null for the CPU); the front end fills it (ops::op_stream)
  int64_t batch = 1, m = 0, n = 0, k = 0;
  GemmOperand a, b;
  void* c = nullptr;
  int64_t ldc = 1;
  int64_t c_batch_stride = 0;
  double alpha = 1, beta = 0;
  const char* op = "mm";  // for error messages
};

KILN_DECLARE_DISPATCH(gemm_stub, void (*)(const GemmParams&));
}  // namespace kiln::ops
