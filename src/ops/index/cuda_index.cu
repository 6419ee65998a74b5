// CUDA kernels of the index family: a device-side index check that finds the first bad index, gather/scatter
// with the shared functors, and a per-row bitonic sort in shared memory.
#include <climits>
#include <cstring>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "kiln/core/deterministic.h"
#include "kiln/cuda/cuda.h"
#include "ops/check/cuda_first_bad.cuh"
#include "ops/index/index_kernels.h"

namespace kiln::ops {
namespace {

constexpr int kThreads = 256;
// Rows up to this length sort in one block's shared memory: 2048 * (8-byte position + 8-byte key) = 32 KiB.
constexpr int64_t kMaxSharedSortRow = 2048;

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>((n + kThreads - 1) / kThreads, 1), 65535 * 4));
}

// Every bad index lowers *first to its position in the CPU's order, so the report is the first bad index, as on
// the CPU, whichever thread runs first.
template <typename I>
__global__ void index_check_kernel(IndexGeom g, const I* idx, int64_t total, unsigned long long* first) {
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; l < total; l += stride) {
    int64_t j = l / g.outer, o = l - j * g.outer, oi, os, oo;
    g.offsets(o, oi, os, oo);
    int64_t v = static_cast<int64_t>(idx[oi + j * g.idx_inner_stride]);
    if (!g.in_range(v)) atomicMin(first, static_cast<unsigned long long>(index_check_position(g, l)));
  }
}

// The value of the index at check position p (see index_check_position).
template <typename I>
struct IndexValueAt {
  IndexGeom g;
  const I* idx;
  __device__ int64_t operator()(int64_t p) const { return static_cast<int64_t>(idx[index_offset_at(g, p)]); }
};

Tensor index_check_cuda(const IndexArgs& a, const CheckFailure& failure) {
  const int64_t total = a.geom.outer * a.geom.inner;
  if (total == 0) return Tensor();
  cuda::DeviceGuard guard(a.device);
  cudaStream_t stream = cuda::detail::launch_stream(a.stream);
  Tensor verdict = new_verdict(a.device, stream);
  KILN_DISPATCH_INDEX(a.index_dtype, "index", [&] {
    const auto* idx = static_cast<const scalar_t*>(a.index);
    index_check_kernel<scalar_t><<<blocks_for(total), kThreads, 0, stream>>>(a.geom, idx, total,
                                                                              verdict_ptr(verdict));
    KILN_CUDA_KERNEL_CHECK();
    record_first_bad(verdict, failure, IndexValueAt<scalar_t>{a.geom, idx}, a.device.index(), stream);
  });
  return verdict;
}

// Neighbouring threads take neighbouring outer positions of one inner step: those are usually neighbours in
// memory (the columns of an embedding row), so loads and stores coalesce.
template <typename I, typename T, typename F>
__global__ void index_apply_kernel(IndexGeom g, const I* idx, T* self, T* other, int64_t total, F f,
                                   const unsigned long long* verdict) {
  if (verdict && *verdict != kNoBadElement) return;  // the check found a bad index: touch nothing
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t l = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; l < total; l += stride) {
    int64_t j = l / g.outer, o = l - j * g.outer, oi, os, oo;
    g.offsets(o, oi, os, oo);
    index_element(g, oi, os, oo, j, idx, self, other, f);
  }
}

template <typename I, typename T, typename F>
void launch_index(const IndexArgs& a, const F& f, int64_t total, cudaStream_t stream) {
  index_apply_kernel<I, T><<<blocks_for(total), kThreads, 0, stream>>>(
      a.geom, static_cast<const I*>(a.index), static_cast<T*>(a.self), static_cast<T*>(a.other), total, f,
      static_cast<const unsigned long long*>(a.verdict));
  KILN_CUDA_KERNEL_CHECK();
}

// ---- scatter_add in deterministic mode (kiln::set_deterministic) ----
// Float atomics add in whatever order threads arrive, so the usual kernel's sums change from run to run.
// Outer positions never write the same element of self (see IndexGeom), so one thread per outer position that
// adds its inner steps in order is race-free without atomics and sums in the CPU loop's order, in opmath as the
// CPU does: the same bits on every run, and the CPU's bits. It has less parallelism (outer positions only), so it
// runs only in deterministic mode.
struct OrderedAddFn {
  template <typename T>
  __device__ void operator()(T* self, T* other) const {
    *self = static_cast<T>(static_cast<opmath_t<T>>(*self) + static_cast<opmath_t<T>>(*other));
  }
};

template <typename I, typename T>
__global__ void ordered_scatter_add_kernel(IndexGeom g, const I* idx, T* self, T* other,
                                           const unsigned long long* verdict) {
  if (verdict && *verdict != kNoBadElement) return;  // as index_apply_kernel: a bad index means touch nothing
  int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < g.outer; o += stride) {
    int64_t oi, os, oo;
    g.offsets(o, oi, os, oo);
    for (int64_t j = 0; j < g.inner; ++j) index_element(g, oi, os, oo, j, idx, self, other, OrderedAddFn{});
  }
}

template <typename I, typename T>
void launch_ordered_scatter_add(const IndexArgs& a, cudaStream_t stream) {
  ordered_scatter_add_kernel<I, T><<<blocks_for(a.geom.outer), kThreads, 0, stream>>>(
      a.geom, static_cast<const I*>(a.index), static_cast<T*>(a.self), static_cast<T*>(a.other),
      static_cast<const unsigned long long*>(a.verdict));
  KILN_CUDA_KERNEL_CHECK();
}
// ---- end of deterministic scatter_add ----

void index_apply_cuda(const IndexArgs& a, IndexMode mode, const Scalar& fill) {
  const int64_t total = a.geom.outer * a.geom.inner;
  if (total == 0) return;
  cuda::DeviceGuard guard(a.device);
  cudaStream_t stream = cuda::detail::launch_stream(a.stream);
  KILN_DISPATCH_ALL(a.dtype, "gather/scatter", [&] {
    using T = scalar_t;
    KILN_DISPATCH_INDEX(a.index_dtype, "index", [&] {
      switch (mode) {
        case IndexMode::Gather: return launch_index<scalar_t, T>(a, GatherFn{}, total, stream);
        case IndexMode::Scatter: return launch_index<scalar_t, T>(a, ScatterFn{}, total, stream);
        case IndexMode::ScatterFill:
          return launch_index<scalar_t, T>(a, ScatterFillFn<T>{fill.to<T>()}, total, stream);
        case IndexMode::ScatterAdd:
          if constexpr (std::is_same<T, bool>::value)
            throw DTypeError("scatter_add: bool tensors are not supported; cast to uint8 first");
          else if (is_deterministic() && is_floating_point(a.dtype))
            return launch_ordered_scatter_add<scalar_t, T>(a, stream);  // integer atomics are exact already
          else
            return launch_index<scalar_t, T>(a, ScatterAddFn{}, total, stream);
      }
    });
  });
}

// One block sorts one row of up to kMaxSharedSortRow elements: a bitonic network over (key, position) pairs,
// padded to a power of two with positions >= n that order after every real element.
template <typename T>
__global__ void bitonic_sort_rows_kernel(T* keys, int64_t* indices, int64_t n, int p2, bool descending) {
  extern __shared__ int64_t smem[];
  int64_t* spos = smem;
  T* skey = reinterpret_cast<T*>(smem + p2);
  T* row = keys + static_cast<int64_t>(blockIdx.x) * n;
  int64_t* irow = indices + static_cast<int64_t>(blockIdx.x) * n;
  for (int i = threadIdx.x; i < p2; i += blockDim.x) {
    spos[i] = i;
    if (i < n) skey[i] = row[i];
  }
  __syncthreads();
  using op_t = opmath_t<T>;
  auto before = [&](int x, int y) {
    int64_t px = spos[x], py = spos[y];
    if (px >= n || py >= n) return px < py;
    return sort_before<op_t>(static_cast<op_t>(skey[x]), px, static_cast<op_t>(skey[y]), py, descending);
  };
  for (int k = 2; k <= p2; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int t = threadIdx.x; t < p2 / 2; t += blockDim.x) {
        int i = 2 * j * (t / j) + (t % j), l = i + j;
        bool ascending_block = (i & k) == 0;
        if (ascending_block ? before(l, i) : before(i, l)) {
          T tk = skey[i];
          skey[i] = skey[l];
          skey[l] = tk;
          int64_t tp = spos[i];
          spos[i] = spos[l];
          spos[l] = tp;
        }
      }
      __syncthreads();
    }
  }
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    row[i] = skey[i];
    irow[i] = spos[i];
  }
}

void sort_cuda(const Tensor& keys, const Tensor& indices, bool descending, cuda::Stream launch_on) {
  const int64_t rows = keys.size(0), n = keys.size(1);
  if (rows * n == 0) return;
  if (n > kMaxSharedSortRow) {
    // Long rows: a simple, correct fallback rather than a device radix/merge sort. The rows go to the host,
    // are sorted by the CPU kernel and come back (a synchronising round trip; PyTorch uses a segmented
    // radix sort here).
    Tensor host_keys = keys.cpu();
    Tensor host_idx = make_tensor(indices.sizes(), kInt64, Device(kCPU));
    sort_stub(kCPU, host_keys, host_idx, descending, cuda::Stream());
    Tensor k = keys, ix = indices;
    k.copy_(host_keys);
    ix.copy_(host_idx);
    return;
  }
  cuda::DeviceGuard guard(keys.device());
  cudaStream_t stream = cuda::detail::launch_stream(launch_on);
  int p2 = 1;
  while (p2 < n) p2 <<= 1;
  int threads = std::max(1, std::min(p2 / 2, 1024));
  KILN_CHECK(rows <= INT32_MAX, "sort: too many rows (", rows, ") for one launch");
  KILN_DISPATCH_ALL(keys.dtype(), "sort", [&] {
    size_t shared = static_cast<size_t>(p2) * (sizeof(int64_t) + sizeof(scalar_t));
    bitonic_sort_rows_kernel<scalar_t><<<static_cast<unsigned>(rows), threads, shared, stream>>>(
        keys.data_ptr<scalar_t>(), indices.data_ptr<int64_t>(), n, p2, descending);
    KILN_CUDA_KERNEL_CHECK();
  });
}
}  // namespace
KILN_REGISTER_KERNEL(index_check_stub, kCUDA, index_check_cuda);
KILN_REGISTER_KERNEL(index_apply_stub, kCUDA, index_apply_cuda);
KILN_REGISTER_KERNEL(sort_stub, kCUDA, sort_cuda);
}  // namespace kiln::ops
