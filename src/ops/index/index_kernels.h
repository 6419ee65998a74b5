// Dispatch stubs of the index family: index validation, gather/scatter over an IndexGeom, and row sorting.
#pragma once
#include "kiln/core/scalar.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"
#include "ops/index/index_functors.h"

namespace kiln::ops {

/// Operands of a gather/scatter (see IndexGeom for the roles of self and other).
struct IndexArgs {
  IndexGeom geom;
  void* self = nullptr;
  const void* index = nullptr;
  void* other = nullptr;
  DType dtype = DType::Float32;  // of self and other
  DType index_dtype = DType::Int64;
  Device device;
  cuda::Stream stream;  // where the CUDA kernel runs (null for the CPU); the front end fills it (ops::op_stream)
};

enum class IndexMode : int8_t { Gather, Scatter, ScatterAdd, ScatterFill };

/// The first out-of-range index value (in the index's iteration order), if any.
struct BadIndex {
  bool found = false;
  int64_t value = 0;
};

/// Scans the index against geom.self_dim_size. On CUDA a device-side check sets a flag that is copied back:
/// one synchronisation, so that a bad index is reported instead of read.
KILN_DECLARE_DISPATCH(index_check_stub, BadIndex (*)(const IndexArgs&));
/// Runs the gather/scatter; `fill` is the value of ScatterFill (already checked to fit the dtype's kind).
KILN_DECLARE_DISPATCH(index_apply_stub, void (*)(const IndexArgs&, IndexMode mode, const Scalar& fill));
/// Sorts each row of keys ([rows, n], contiguous) in place, stably, and writes the rows' original positions to
/// indices ([rows, n] int64, contiguous). The CUDA kernel runs on `stream` (ops::op_stream of the keys' device).
KILN_DECLARE_DISPATCH(sort_stub, void (*)(const Tensor& keys, const Tensor& indices, bool descending,
                                          cuda::Stream stream));
}  // namespace kiln::ops
