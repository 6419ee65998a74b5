// CPU reduction loops: rows x K over a strided input, parallel over rows (and over K when rows are few),
// with lane-split accumulators so contiguous runs vectorise, and a column loop for reductions across rows.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "backend/cpu/parallel.h"
#include "ops/reduce/reduce_kernels.h"
#include "ops/reduce/reduce_visit.h"

namespace kiln::ops {
namespace {

// Independent accumulators per contiguous run: they break the add chain so the compiler vectorises it,
// and bound each one's rounding error together with the block cascade below.
constexpr int kLanes = 16;
// Elements folded into fresh lanes before merging into the running accumulator (a two-level cascade,
// so a float32 sum of millions of elements keeps about float32 accuracy).
constexpr int64_t kBlock = 4096;
// Minimum elements per parallel task.
constexpr int64_t kReduceGrain = 32768;
// Rows processed together by the column loop.
constexpr int64_t kColumnWidth = 64;
// k steps folded into fresh column accumulators before merging.
constexpr int64_t kColumnBlock = 256;

template <typename scalar_t, typename Op>
struct CpuReducer {
  using acc_t = typename Op::acc_t;
  using out_t = typename Op::out_t;
  using in_t = opmath_t<scalar_t>;
  const ReduceGeom& g;
  const scalar_t* in;
  Op op;

  // Folds n elements at p (stride s) with logical indices k0, k0+1, ... into acc, kBlock at a time into
  // a fresh accumulator (a two-level cascade bounds the rounding error of long float sums).
  acc_t run(const scalar_t* p, int64_t s, int64_t n, int64_t k0, acc_t acc) const {
    for (int64_t bb = 0; bb < n; bb += kBlock) {
      int64_t nb = std::min(kBlock, n - bb), kb = k0 + bb;
      const scalar_t* q = p + bb * s;
      if (s != 1 || nb < kLanes) {
        acc_t blk = op.identity();
        for (int64_t i = 0; i < nb; ++i) blk = op.reduce(blk, static_cast<in_t>(q[i * s]), kb + i);
        acc = op.combine(acc, blk);
        continue;
      }
      acc_t lanes[kLanes];
      for (int j = 0; j < kLanes; ++j) lanes[j] = op.identity();
      int64_t i = 0;
      for (; i + kLanes <= nb; i += kLanes)
        for (int j = 0; j < kLanes; ++j) lanes[j] = op.reduce(lanes[j], static_cast<in_t>(q[i + j]), kb + i + j);
      for (int j = 0; i + j < nb; ++j) lanes[j] = op.reduce(lanes[j], static_cast<in_t>(q[i + j]), kb + i + j);
      for (int w = kLanes / 2; w > 0; w /= 2)  // pairwise merge of the lanes
        for (int j = 0; j < w; ++j) lanes[j] = op.combine(lanes[j], lanes[j + w]);
      acc = op.combine(acc, lanes[0]);
    }
    return acc;
  }

  // Accumulator of elements [kb, ke) of the row starting at base.
  acc_t reduce_range(const scalar_t* base, int64_t kb, int64_t ke) const {
    acc_t acc = op.identity();
    int64_t n0 = g.inner_size(), s0 = g.inner_stride();
    for (int64_t k = kb; k < ke;) {
      int64_t inner = k % n0, len = std::min(n0 - inner, ke - k);
      const scalar_t* p = base + g.red_outer_offset(k / n0) + inner * s0;
      acc = run(p, s0, len, k, acc);
      k += len;
    }
    return acc;
  }

  // Each row reduced by one task, or split into `splits` K-ranges whose partials merge in order.
  void rows_loop(out_t* out, int64_t* idx) const {
    int64_t rows = g.rows, K = g.K;
    int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int64_t splits = 1;
    if (rows < threads && K >= 2 * kReduceGrain)
      splits = std::min<int64_t>((threads + rows - 1) / rows, K / kReduceGrain);
    if (splits == 1) {
      int64_t grain = std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(K, 1));
      cpu::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) store_result(op, reduce_range(in + g.row_offset(r), 0, K), out, idx, r);
      });
      return;
    }
    int64_t chunk = (K + splits - 1) / splits;
    std::vector<acc_t> partial(static_cast<size_t>(rows * splits));
    cpu::parallel_for(0, rows * splits, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        int64_t r = t / splits, s = t % splits;
        int64_t kb = std::min(K, s * chunk), ke = std::min(K, kb + chunk);
        partial[t] = reduce_range(in + g.row_offset(r), kb, ke);
      }
    });
    for (int64_t r = 0; r < rows; ++r) {
      acc_t acc = partial[r * splits];
      for (int64_t s = 1; s < splits; ++s) acc = op.combine(acc, partial[r * splits + s]);
      store_result(op, acc, out, idx, r);
    }
  }

  // blk[j] folds element k of rows j (adjacent in memory) for k in [kb, ke). A compile-time width W
  // lets the compiler vectorise the inner loop without a remainder; W = 0 takes the width w at run time.
  template <int64_t W>
  void fold_columns(const scalar_t* base, int64_t w, int64_t kb, int64_t ke, acc_t* blk) const {
    const int64_t width = W ? W : w;
    for (int64_t k = kb; k < ke; ++k) {
      const scalar_t* p = base + g.k_offset(k);
      for (int64_t j = 0; j < width; ++j) blk[j] = op.reduce(blk[j], static_cast<in_t>(p[j]), k);
    }
  }

  // Rows adjacent in memory (innermost kept stride 1): walk k outside, a block of rows inside.
  void column_loop(out_t* out, int64_t* idx) const {
    int64_t m = g.kept_sizes[g.nkept - 1];
    int64_t outer = g.rows / m, width_blocks = (m + kColumnWidth - 1) / kColumnWidth;
    int64_t grain = std::max<int64_t>(1, kReduceGrain / (kColumnWidth * g.K));
    cpu::parallel_for(0, outer * width_blocks, grain, [&](int64_t b, int64_t e) {
      acc_t acc[kColumnWidth], blk[kColumnWidth];
      for (int64_t t = b; t < e; ++t) {
        int64_t o = t / width_blocks, j0 = (t % width_blocks) * kColumnWidth;
        int64_t w = std::min(kColumnWidth, m - j0), r0 = o * m + j0;
        const scalar_t* base = in + g.row_offset(r0);
        for (int64_t j = 0; j < w; ++j) acc[j] = op.identity();
        for (int64_t kb = 0; kb < g.K; kb += kColumnBlock) {  // cascade, as in run()
          int64_t ke = std::min(g.K, kb + kColumnBlock);
          for (int64_t j = 0; j < w; ++j) blk[j] = op.identity();
          if (w == kColumnWidth) fold_columns<kColumnWidth>(base, kColumnWidth, kb, ke, blk);
          else fold_columns<0>(base, w, kb, ke, blk);
          for (int64_t j = 0; j < w; ++j) acc[j] = op.combine(acc[j], blk[j]);
        }
        for (int64_t j = 0; j < w; ++j) store_result(op, acc[j], out, idx, r0 + j);
      }
    });
  }

  void operator()(out_t* out, int64_t* idx) const {
    if (g.rows == 0) return;
    if (g.columnar()) column_loop(out, idx);
    else rows_loop(out, idx);
  }
};

void reduce_cpu(const ReduceCall& c) {
  KILN_DISPATCH_ALL(c.in_dtype, "reduce", [&] {
    visit_reduce_op<scalar_t>(c, [&](auto op) {
      using Op = decltype(op);
      KILN_CHECK_DTYPE(!c.out || c.out_dtype == dtype_of<typename Op::out_t>, "reduce: internal error, output dtype ",
                       dtype_name(c.out_dtype), " does not match the kernel's ", dtype_name(dtype_of<typename Op::out_t>));
      CpuReducer<scalar_t, Op> r{c.geom, static_cast<const scalar_t*>(c.in), op};
      r(static_cast<typename Op::out_t*>(c.out), c.indices);
    });
  });
}
}  // namespace
KILN_REGISTER_KERNEL(reduce_stub, kCPU, reduce_cpu);
}  // namespace kiln::ops
