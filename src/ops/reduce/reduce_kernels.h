// Reduction geometry (rows x K over strided input, index math shared by CPU and CUDA), the op kinds,
// and the dispatch stubs of the reduce family (reductions, softmax forward and backward).
#pragma once
#include <cstdint>

#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

constexpr int kReduceMaxDims = 12;

/// An input seen as `rows` x `K`: the kept dims (coalesced, in output row-major order) pick a row, the
/// reduced dims (coalesced, in logical row-major order unless the op ignores order) pick the element k.
/// Output row r is element r of a contiguous output.
struct ReduceGeom {
  int64_t rows = 1, K = 1;
  int nkept = 0, nred = 0;
  int64_t kept_sizes[kReduceMaxDims] = {}, kept_strides[kReduceMaxDims] = {};
  int64_t red_sizes[kReduceMaxDims] = {}, red_strides[kReduceMaxDims] = {};

  /// Element offset of row r's first element.
  KILN_HD int64_t row_offset(int64_t r) const {
    int64_t off = 0;
    for (int d = nkept - 1; d >= 0; --d) {
      off += (r % kept_sizes[d]) * kept_strides[d];
      r /= kept_sizes[d];
    }
    return off;
  }
  /// Offset of the first element of run `outer` (every reduced dim but the innermost).
  KILN_HD int64_t red_outer_offset(int64_t outer) const {
    int64_t off = 0;
    for (int d = nred - 2; d >= 0; --d) {
      off += (outer % red_sizes[d]) * red_strides[d];
      outer /= red_sizes[d];
    }
    return off;
  }
  /// Offset of element k within a row.
  KILN_HD int64_t k_offset(int64_t k) const {
    if (nred == 1) return k * red_strides[0];
    int64_t off = 0;
    for (int d = nred - 1; d >= 0; --d) {
      off += (k % red_sizes[d]) * red_strides[d];
      k /= red_sizes[d];
    }
    return off;
  }
  /// Size and stride of the innermost reduced dim (a run of elements the loops walk with one stride).
  KILN_HD int64_t inner_size() const { return nred ? red_sizes[nred - 1] : 1; }
  KILN_HD int64_t inner_stride() const { return nred ? red_strides[nred - 1] : 0; }
  /// True when consecutive rows are adjacent in memory while the reduction walks with a larger stride:
  /// the loops then run across rows (vectorised on CPU, coalesced on GPU) instead of along them.
  KILN_HD bool columnar() const { return nkept > 0 && kept_strides[nkept - 1] == 1 && inner_stride() != 1 && K > 1; }
};

/// Builds the geometry of `a` with the dims where reduced[d] is true reduced. reorder: the op does not
/// care about element order (no index output), so reduced dims may be sorted by stride to coalesce.
ReduceGeom make_reduce_geom(const Tensor& a, const std::vector<bool>& reduced, bool reorder);

enum class ReduceKind : int {
  Sum, Mean, Prod, Max, Min, ArgMax, ArgMin, Var, Std,
  Norm0, Norm1, Norm2, NormP, NormInf, NormNegInf, LogSumExp, Any, All
};

/// One reduction: input element 0 at `in`, results into contiguous `out` (values; may be null for
/// argmax/argmin) and `indices` (int64; only for ArgMax/ArgMin, may be null).
struct ReduceCall {
  ReduceKind kind = ReduceKind::Sum;
  ReduceGeom geom;
  const void* in = nullptr;
  DType in_dtype = DType::Float32;
  Device device;
  cuda::Stream stream;  // where the CUDA kernel runs (null for the CPU); the front end fills it (ops::op_stream)
  void* out = nullptr;
  DType out_dtype = DType::Float32;  // must be dtype_of<Op::out_t>; kernels check it
  int64_t* indices = nullptr;
  double param = 0;  // norm p, var/std correction
};
KILN_DECLARE_DISPATCH(reduce_stub, void (*)(const ReduceCall&));
/// The reduction kernels for one input dtype, instantiated per dtype in cpu_reduce.per_dtype.cpp and
/// cuda_reduce.per_dtype.cu; reduce_stub's kernels pick one by c.in_dtype.
template <typename scalar_t> void reduce_cpu_typed(const ReduceCall& c);
template <typename scalar_t> void reduce_cuda_typed(const ReduceCall& c);

/// Softmax over the middle dim of a contiguous [outer, K, inner] input into a contiguous output.
struct SoftmaxCall {
  const void* in = nullptr;  // forward: x; backward: grad of the output
  const void* out = nullptr; // backward only: the forward's output y
  void* result = nullptr;    // forward: y; backward: grad of the input
  DType dtype = DType::Float32;
  Device device;
  cuda::Stream stream;  // where the CUDA kernel runs (null for the CPU); the front end fills it (ops::op_stream)
  int64_t outer = 1, K = 1, inner = 1;
  bool log = false;
};
KILN_DECLARE_DISPATCH(softmax_stub, void (*)(const SoftmaxCall&));
KILN_DECLARE_DISPATCH(softmax_backward_stub, void (*)(const SoftmaxCall&));
}  // namespace kiln::ops
