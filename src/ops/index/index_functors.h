// Index arithmetic and element functors of the index family (gather/scatter/sort), shared by the CPU loops and
// the CUDA kernels so both run the same math.
#pragma once
#include <cstdint>

#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace kiln::ops {

constexpr int kMaxIndexDims = 12;

/// Geometry of a gather/scatter along `dim`, iterated over the index tensor's shape. "self" is the tensor
/// addressed through the index (gather's source, scatter's destination); "other" is shaped at least like the
/// index (gather's output, scatter's source). The index dim is split off as the inner loop: for one outer
/// position, every inner step addresses the same self row, so outer positions never collide (the CPU runs them
/// in parallel without atomics).
struct IndexGeom {
  int ndim = 0;  // outer dims: every dim of the index but `dim`
  int64_t sizes[kMaxIndexDims] = {};
  int64_t idx_strides[kMaxIndexDims] = {};
  int64_t self_strides[kMaxIndexDims] = {};
  int64_t other_strides[kMaxIndexDims] = {};
  int64_t outer = 1;  // product of sizes
  int64_t inner = 1;  // index.size(dim)
  int64_t idx_inner_stride = 0, other_inner_stride = 0;
  int64_t self_dim_stride = 0, self_dim_size = 0;

  /// Element offsets of outer position o in the index, in self (without the indexed dim) and in other.
  KILN_HD void offsets(int64_t o, int64_t& oi, int64_t& os, int64_t& oo) const {
    oi = os = oo = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t c = o % sizes[d];
      o /= sizes[d];
      oi += c * idx_strides[d];
      os += c * self_strides[d];
      oo += c * other_strides[d];
    }
  }
  KILN_HD bool in_range(int64_t i) const { return i >= 0 && i < self_dim_size; }
};

/// The order in which a bad index is "first": outer position o, then inner step j, p = o * inner + j (the CPU
/// check's loop order). The CUDA check visits l = j * outer + o, so that neighbouring threads read neighbouring
/// index elements, and keeps the lowest p of a bad index (atomicMin) instead of whichever thread came first.
KILN_HD int64_t index_check_position(const IndexGeom& g, int64_t l) {
  const int64_t j = l / g.outer, o = l - j * g.outer;
  return o * g.inner + j;
}
/// Element offset in the index of check position p (see index_check_position).
KILN_HD int64_t index_offset_at(const IndexGeom& g, int64_t p) {
  const int64_t o = p / g.inner, j = p - o * g.inner;
  int64_t oi, os, oo;
  g.offsets(o, oi, os, oo);
  return oi + j * g.idx_inner_stride;
}

/// gather: other (the output) = self at the index.
struct GatherFn {
  template <typename T>
  KILN_HD void operator()(T* self, T* other) const { *other = *self; }
};
/// scatter: self at the index = other.
struct ScatterFn {
  template <typename T>
  KILN_HD void operator()(T* self, T* other) const { *self = *other; }
};
/// scatter with a Scalar: self at the index = value.
template <typename V>
struct ScatterFillFn {
  V value;
  template <typename T>
  KILN_HD void operator()(T* self, T*) const { *self = value; }
};

#if defined(__CUDACC__)
// Device atomics for scatter_add: CUDA threads of different outer positions never collide, but those of one
// outer position may (repeated indices), so adds are atomic.
__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ inline void atomic_add(Half* p, float v) { atomicAdd(reinterpret_cast<__half*>(p), __float2half_rn(v)); }
__device__ inline void atomic_add(BFloat16* p, float v) {
  atomicAdd(reinterpret_cast<__nv_bfloat16*>(p), __float2bfloat16_rn(v));
}
__device__ inline void atomic_add(int32_t* p, int32_t v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));  // wraps like int64
}
__device__ inline void atomic_add(uint8_t* p, uint8_t v) {
  // No byte atomics: compare-and-swap the aligned 32-bit word holding the byte.
  auto addr = reinterpret_cast<uintptr_t>(p);
  unsigned int* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
  unsigned int shift = static_cast<unsigned int>(addr & 3) * 8;
  unsigned int old = *word, assumed;
  do {
    assumed = old;
    unsigned int byte = ((assumed >> shift) + v) & 0xffu;
    old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (byte << shift));
  } while (assumed != old);
}
#endif

/// scatter_add: self at the index += other (atomically on the GPU, in opmath).
struct ScatterAddFn {
  template <typename T>
  KILN_HD void operator()(T* self, T* other) const {
#if defined(__CUDA_ARCH__)
    atomic_add(self, static_cast<opmath_t<T>>(*other));
#else
    *self = static_cast<T>(static_cast<opmath_t<T>>(*self) + static_cast<opmath_t<T>>(*other));
#endif
  }
};

/// One element of a gather/scatter: outer position offsets (oi, os, oo), inner step j. Out-of-range indices
/// are skipped here as a second line of defence; the front end has already refused them.
template <typename I, typename T, typename F>
KILN_HD void index_element(const IndexGeom& g, int64_t oi, int64_t os, int64_t oo, int64_t j, const I* idx, T* self,
                           T* other, const F& f) {
  int64_t i = static_cast<int64_t>(idx[oi + j * g.idx_inner_stride]);
  if (!g.in_range(i)) return;
  f(self + os + i * g.self_dim_stride, other + oo + j * g.other_inner_stride);
}

/// Sort order of (value, original position) pairs: NaN counts as larger than every number (as torch), and ties
/// keep their original order, which makes any sort that uses it stable.
template <typename T>
KILN_HD bool sort_before(T a, int64_t ia, T b, int64_t ib, bool descending) {
  bool an = a != a, bn = b != b;
  if (an || bn) {
    if (an && bn) return ia < ib;
    return descending ? an : bn;
  }
  if (a == b) return ia < ib;
  return descending ? a > b : a < b;
}
}  // namespace kiln::ops
