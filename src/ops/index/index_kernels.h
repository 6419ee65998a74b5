// Dispatch stubs of the index family: index validation, gather/scatter over an IndexGeom, and row sorting.
#pragma once
#include "kiln/core/scalar.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/check/check_failure.h"
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
  // CUDA: the verdict of this op's queued index check (see ops/check/cuda_first_bad.cuh); the apply kernel
  // does nothing when it names a bad index, so a scatter with a bad index leaves self untouched, as on the CPU.
  const void* verdict = nullptr;
};

enum class IndexMode : int8_t { Gather, Scatter, ScatterAdd, ScatterFill };

/// Scans the index against geom.self_dim_size and reports the first out-of-range value (in the index's
/// iteration order) as `failure` with that value. The CPU throws at once; CUDA queues a device-side check
/// whose failure the host raises at its next wait (backend/cuda/device_checks.h), and returns the check's
/// verdict for IndexArgs::verdict (an undefined tensor on the CPU). Nothing waits for the GPU.
KILN_DECLARE_DISPATCH(index_check_stub, Tensor (*)(const IndexArgs&, const CheckFailure& failure));
/// Runs the gather/scatter; `fill` is the value of ScatterFill (already checked to fit the dtype's kind).
KILN_DECLARE_DISPATCH(index_apply_stub, void (*)(const IndexArgs&, IndexMode mode, const Scalar& fill));
/// Sorts each row of keys ([rows, n], contiguous) in place, stably, and writes the rows' original positions to
/// indices ([rows, n] int64, contiguous). The CUDA kernel runs on `stream` (ops::op_stream of the keys' device).
KILN_DECLARE_DISPATCH(sort_stub, void (*)(const Tensor& keys, const Tensor& indices, bool descending,
                                          cuda::Stream stream));
}  // namespace kiln::ops
