// CPU kernels of the index family: index validation, gather/scatter run over outer positions in parallel, and a
// stable row sort.
#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <type_traits>

#include "backend/cpu/parallel.h"
#include "ops/index/index_kernels.h"

namespace kiln::ops {
namespace {

Tensor index_check_cpu(const IndexArgs& a, const CheckFailure& failure) {
  const IndexGeom& g = a.geom;
  KILN_DISPATCH_INDEX(a.index_dtype, "index", [&] {
    const scalar_t* idx = static_cast<const scalar_t*>(a.index);
    int64_t checked = -1;  // the index line last checked: a broadcast index (index_select's) is one line for all
    for (int64_t o = 0; o < g.outer; ++o) {
      int64_t oi, os, oo;
      g.offsets(o, oi, os, oo);
      if (oi == checked) continue;
      checked = oi;
      for (int64_t j = 0; j < g.inner; ++j) {
        int64_t v = static_cast<int64_t>(idx[oi + j * g.idx_inner_stride]);
        if (!g.in_range(v)) throw_check_failure(failure.with_value(o * g.inner + j, v));
      }
    }
  });
  return Tensor();
}

// True when the n outer positions share one index line and are consecutive elements of self and of other.
inline bool runs_of_rows(const int64_t* oi, const int64_t* os, const int64_t* oo, int64_t n) {
  for (int64_t t = 1; t < n; ++t)
    if (oi[t] != oi[0] || os[t] != os[0] + t || oo[t] != oo[0] + t) return false;
  return true;
}

// Outer positions address disjoint parts of self, so chunks of them run in parallel without races. Within a
// chunk, blocks of outer positions are visited once per inner step: consecutive outer positions are usually
// consecutive in memory (an embedding row, say), and repeated scatter indices are applied in order, so the last
// write wins deterministically, as on torch's CPU.
template <typename I, typename T, typename F>
void run_index(const IndexArgs& a, const F& f) {
  constexpr int64_t kBlock = 256;
  const IndexGeom& g = a.geom;
  const I* idx = static_cast<const I*>(a.index);
  T* self = static_cast<T*>(a.self);
  T* other = static_cast<T*>(a.other);
  int64_t grain = std::max<int64_t>(1, cpu::kGrainSize / std::max<int64_t>(g.inner, 1));
  cpu::parallel_for(0, g.outer, grain, [&](int64_t b, int64_t e) {
    int64_t oi[kBlock], os[kBlock], oo[kBlock];
    for (int64_t o0 = b; o0 < e; o0 += kBlock) {
      const int64_t n = std::min(kBlock, e - o0);
      for (int64_t t = 0; t < n; ++t) g.offsets(o0 + t, oi[t], os[t], oo[t]);
      if constexpr (std::is_same<F, GatherFn>::value) {
        if (runs_of_rows(oi, os, oo, n)) {
          // index_select's pattern: one index line for the block, source and output unit-stride along it, so
          // each index copies a run of n elements.
          for (int64_t j = 0; j < g.inner; ++j) {
            const int64_t i = static_cast<int64_t>(idx[oi[0] + j * g.idx_inner_stride]);
            if (g.in_range(i))
              std::memcpy(other + oo[0] + j * g.other_inner_stride, self + os[0] + i * g.self_dim_stride,
                          sizeof(T) * static_cast<size_t>(n));
          }
          continue;
        }
      }
      for (int64_t j = 0; j < g.inner; ++j)
        for (int64_t t = 0; t < n; ++t) index_element(g, oi[t], os[t], oo[t], j, idx, self, other, f);
    }
  });
}

void index_apply_cpu(const IndexArgs& a, IndexMode mode, const Scalar& fill) {
  if (a.geom.outer * a.geom.inner == 0) return;
  KILN_DISPATCH_ALL(a.dtype, "gather/scatter", [&] {
    using T = scalar_t;
    KILN_DISPATCH_INDEX(a.index_dtype, "index", [&] {
      switch (mode) {
        case IndexMode::Gather: return run_index<scalar_t, T>(a, GatherFn{});
        case IndexMode::Scatter: return run_index<scalar_t, T>(a, ScatterFn{});
        case IndexMode::ScatterFill: return run_index<scalar_t, T>(a, ScatterFillFn<T>{fill.to<T>()});
        case IndexMode::ScatterAdd:
          if constexpr (std::is_same<T, bool>::value)
            throw DTypeError("scatter_add: bool tensors are not supported; cast to uint8 first");
          else
            return run_index<scalar_t, T>(a, ScatterAddFn{});
      }
    });
  });
}

void sort_cpu(const Tensor& keys, const Tensor& indices, bool descending, cuda::Stream) {
  const int64_t rows = keys.size(0), n = keys.size(1);
  if (rows * n == 0) return;
  KILN_DISPATCH_ALL(keys.dtype(), "sort", [&] {
    using op_t = opmath_t<scalar_t>;
    scalar_t* k = keys.data_ptr<scalar_t>();
    int64_t* ix = indices.data_ptr<int64_t>();
    int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1));
    cpu::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
      std::unique_ptr<int64_t[]> perm(new int64_t[n]);
      std::unique_ptr<scalar_t[]> tmp(new scalar_t[n]);
      for (int64_t r = b; r < e; ++r) {
        scalar_t* row = k + r * n;
        std::iota(perm.get(), perm.get() + n, int64_t(0));
        // sort_before breaks ties by position, so std::sort gives the stable order.
        std::sort(perm.get(), perm.get() + n, [&](int64_t x, int64_t y) {
          return sort_before<op_t>(static_cast<op_t>(row[x]), x, static_cast<op_t>(row[y]), y, descending);
        });
        for (int64_t i = 0; i < n; ++i) tmp[i] = row[perm[i]];
        std::copy(tmp.get(), tmp.get() + n, row);
        std::copy(perm.get(), perm.get() + n, ix + r * n);
      }
    });
  });
}
}  // namespace
KILN_REGISTER_KERNEL(index_check_stub, kCPU, index_check_cpu);
KILN_REGISTER_KERNEL(index_apply_stub, kCPU, index_apply_cpu);
KILN_REGISTER_KERNEL(sort_stub, kCPU, sort_cpu);
}  // namespace kiln::ops
