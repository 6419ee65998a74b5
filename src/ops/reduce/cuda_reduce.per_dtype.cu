// CUDA reduction kernels for one dtype (compiled once per dtype table row): one block per row (strided walk, shuffles + shared memory), a column kernel
// when rows are adjacent in memory, and a K-split grid with a finalize pass when rows are too few.
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"
#include "ops/per_dtype.h"
#include "ops/reduce/cuda_block_reduce.cuh"
#include "ops/reduce/reduce_kernels.h"
#include "ops/reduce/reduce_visit.h"

namespace kiln::ops {
namespace {
using cuda_reduce::block_combine;
using cuda_reduce::block_threads;

constexpr int kRowThreads = 256;
constexpr int kColX = 32, kColY = 8;  // column kernel: 32 rows x 8 k-lanes per block
constexpr int64_t kMaxGridX = int64_t(1) << 30;

// The K-range of split s when each row is cut into `splits` parts.
__device__ __forceinline__ void split_range(int64_t K, int64_t splits, int64_t s, int64_t& kb, int64_t& ke) {
  int64_t chunk = (K + splits - 1) / splits;
  kb = s * chunk < K ? s * chunk : K;
  ke = kb + chunk < K ? kb + chunk : K;
}

template <typename scalar_t, typename Op>
__global__ void reduce_rows_kernel(const scalar_t* in, ReduceGeom g, Op op, typename Op::out_t* out, int64_t* idx,
                                   typename Op::acc_t* partial, int64_t splits) {
  using acc_t = typename Op::acc_t;
  using A = opmath_t<scalar_t>;
  __shared__ acc_t smem[32];
  int64_t kb, ke;
  split_range(g.K, splits, blockIdx.y, kb, ke);
  const int64_t step = blockDim.x;
  for (int64_t r = blockIdx.x; r < g.rows; r += gridDim.x) {
    const scalar_t* base = in + g.row_offset(r);
    acc_t acc = op.identity();
    int64_t k = kb + threadIdx.x;
    if (g.nred <= 1 && g.inner_stride() == 1) {
      // Contiguous: four independent accumulators keep more loads in flight.
      acc_t a1 = op.identity(), a2 = op.identity(), a3 = op.identity();
      for (; k + 3 * step < ke; k += 4 * step) {
        acc = op.reduce(acc, static_cast<A>(base[k]), k);
        a1 = op.reduce(a1, static_cast<A>(base[k + step]), k + step);
        a2 = op.reduce(a2, static_cast<A>(base[k + 2 * step]), k + 2 * step);
        a3 = op.reduce(a3, static_cast<A>(base[k + 3 * step]), k + 3 * step);
      }
      for (; k < ke; k += step) acc = op.reduce(acc, static_cast<A>(base[k]), k);
      acc = op.combine(op.combine(acc, a1), op.combine(a2, a3));
    } else if (g.nred <= 1) {
      int64_t st = g.inner_stride();
      for (; k < ke; k += step) acc = op.reduce(acc, static_cast<A>(base[k * st]), k);
    } else {
      for (; k < ke; k += step) acc = op.reduce(acc, static_cast<A>(base[g.k_offset(k)]), k);
    }
    acc = block_combine(op, acc, smem);
    if (threadIdx.x == 0) {
      if (splits == 1) store_result(op, acc, out, idx, r);
      else partial[r * splits + blockIdx.y] = acc;
    }
    __syncthreads();
  }
}

// Block (kColX, kColY): threadIdx.x picks a row (adjacent rows are adjacent in memory, so loads
// coalesce), threadIdx.y strides over k; the kColY partials merge through shared memory.
template <typename scalar_t, typename Op>
__global__ void reduce_columns_kernel(const scalar_t* in, ReduceGeom g, Op op, typename Op::out_t* out, int64_t* idx,
                                      typename Op::acc_t* partial, int64_t splits) {
  using acc_t = typename Op::acc_t;
  using A = opmath_t<scalar_t>;
  __shared__ acc_t smem[kColY][kColX + 1];
  int64_t kb, ke;
  split_range(g.K, splits, blockIdx.y, kb, ke);
  for (int64_t rb = blockIdx.x; rb * kColX < g.rows; rb += gridDim.x) {
    int64_t r = rb * kColX + threadIdx.x;
    acc_t acc = op.identity();
    if (r < g.rows) {
      const scalar_t* base = in + g.row_offset(r);
      for (int64_t k = kb + threadIdx.y; k < ke; k += kColY) acc = op.reduce(acc, static_cast<A>(base[g.k_offset(k)]), k);
    }
    smem[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && r < g.rows) {
      for (int j = 1; j < kColY; ++j) acc = op.combine(acc, smem[j][threadIdx.x]);
      if (splits == 1) store_result(op, acc, out, idx, r);
      else partial[r * splits + blockIdx.y] = acc;
    }
    __syncthreads();
  }
}

// Second pass of a K-split reduction: one block merges each row's partials in order and projects.
template <typename Op>
__global__ void reduce_finalize_kernel(Op op, const typename Op::acc_t* partial, int64_t rows, int64_t splits,
                                       typename Op::out_t* out, int64_t* idx) {
  using acc_t = typename Op::acc_t;
  __shared__ acc_t smem[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    acc_t acc = op.identity();
    for (int64_t s = threadIdx.x; s < splits; s += blockDim.x) acc = op.combine(acc, partial[r * splits + s]);
    acc = block_combine(op, acc, smem);
    if (threadIdx.x == 0) store_result(op, acc, out, idx, r);
    __syncthreads();
  }
}

int sm_count() {
  static int cached[64] = {};
  int dev = cuda::current_device();
  if (dev < 0 || dev >= 64) return cuda::multiprocessor_count(dev);
  if (!cached[dev]) cached[dev] = cuda::multiprocessor_count(dev);
  return cached[dev];
}

template <typename scalar_t, typename Op>
void launch_reduce(const ReduceCall& c, const Op& op) {
  using acc_t = typename Op::acc_t;
  using out_t = typename Op::out_t;
  const ReduceGeom& g = c.geom;
  cuda::DeviceGuard guard(c.device);
  cudaStream_t stream = cuda::detail::launch_stream(c.stream);
  // Short rows go to the column kernel too: one thread per row beats a mostly idle block per row.
  bool columns = g.columnar() || g.K < 32;
  int64_t blocks = columns ? (g.rows + kColX - 1) / kColX : g.rows;
  int64_t min_per_split = columns ? int64_t(kColY) * 64 : int64_t(kRowThreads) * 16;
  int64_t target = 4 * static_cast<int64_t>(sm_count());
  int64_t splits = 1;
  if (blocks < target && g.K >= 2 * min_per_split)
    splits = std::min<int64_t>({(target + blocks - 1) / blocks, g.K / min_per_split, 65535});
  Tensor workspace;
  acc_t* partial = nullptr;
  if (splits > 1) {
    workspace = make_tensor({g.rows * splits * static_cast<int64_t>(sizeof(acc_t))}, kUInt8, c.device);
    workspace.record_stream(c.stream);  // allocated on the current stream, used on c.stream: no early reuse
    partial = static_cast<acc_t*>(workspace.data_ptr());
  }
  const scalar_t* in = static_cast<const scalar_t*>(c.in);
  out_t* out = static_cast<out_t*>(c.out);
  dim3 grid(static_cast<unsigned>(std::min(blocks, kMaxGridX)), static_cast<unsigned>(splits));
  if (columns) {
    reduce_columns_kernel<scalar_t, Op><<<grid, dim3(kColX, kColY), 0, stream>>>(in, g, op, out, c.indices, partial, splits);
  } else {
    int threads = block_threads((g.K + splits - 1) / splits, kRowThreads);
    reduce_rows_kernel<scalar_t, Op><<<grid, threads, 0, stream>>>(in, g, op, out, c.indices, partial, splits);
  }
  KILN_CUDA_KERNEL_CHECK();
  if (splits > 1) {
    unsigned fb = static_cast<unsigned>(std::min(g.rows, kMaxGridX));
    reduce_finalize_kernel<Op><<<fb, block_threads(splits, kRowThreads), 0, stream>>>(op, partial, g.rows, splits, out,
                                                                                      c.indices);
    KILN_CUDA_KERNEL_CHECK();
  }
}

}  // namespace

template <typename scalar_t>
void reduce_cuda_typed(const ReduceCall& c) {
  visit_reduce_op_checked<scalar_t>(c, [&](auto op) { launch_reduce<scalar_t>(c, op); });
}
template void reduce_cuda_typed<instance_t>(const ReduceCall&);
}  // namespace kiln::ops
