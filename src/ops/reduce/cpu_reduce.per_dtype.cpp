// CPU reduction loops for one dtype (compiled once per dtype table row): rows x K over a strided input,
// parallel over rows (and over K when rows are few), with lane-split accumulators so contiguous runs
// vectorise, and a column loop for reductions across rows.
#include <omp.h>

#include <algorithm>
#include <memory>

#include "backend/cpu/parallel.h"
#include "ops/per_dtype.h"
#include "ops/reduce/reduce_kernels.h"
#include "ops/reduce/reduce_visit.h"

namespace kiln::ops {
namespace {

// Independent accumulators per contiguous run: they break the add chain so the compiler vectorises it,
// and bound each one's rounding error together with the block cascade below.
constexpr int kLanes = 16;
// Elements folded into fresh lanes (64 a lane) before the block's sum joins the cascade: short linear runs,
// because the rounding of a long run of similar values adds up in one direction.
constexpr int64_t kBlock = 1024;
// Minimum elements per parallel task.
constexpr int64_t kReduceGrain = 32768;
// A long row is reduced as fixed chunks of this many elements, whose partials merge pairwise. The chunks do
// not depend on the thread count (threads only pick which chunks they run), so neither does the result.
constexpr int64_t kRowChunk = int64_t{1} << 16;
// Rows processed together by the column loop (their accumulators stay in L1/L2 while the input streams
// through row by row), and its vector chunk.
constexpr int64_t kColumnWidth = 16384;
constexpr int64_t kColumnVec = 32;
// k steps folded into fresh column accumulators before merging, and k steps per fixed chunk of a column
// reduction (chunk partials merge pairwise, as kRowChunk).
constexpr int64_t kColumnBlock = 256;
constexpr int64_t kColumnChunk = 16 * kColumnBlock;

// Scratch accumulators (not std::vector: vector<bool> packs bits, which threads cannot write apart).
template <typename T>
std::unique_ptr<T[]> make_buffer(int64_t n) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(std::max<int64_t>(n, 1))]);
}

// Partials pushed in element order merge like a binary counter: equal-sized neighbours combine, so n leaves
// form a balanced tree of depth log2(n) and a float sum's rounding error grows with log(n), not n. combine()
// always gets the earlier partial first (argmax keeps the first of equal values).
template <typename Op>
struct Cascade {
  using acc_t = typename Op::acc_t;
  const Op& op;
  acc_t level[64];
  uint64_t count = 0;
  void push(acc_t x) {
    int l = 0;
    for (uint64_t c = count; c & 1; c >>= 1, ++l) x = op.combine(level[l], x);
    level[l] = x;
    ++count;
  }
  acc_t result() const {
    acc_t acc = op.identity();
    for (int l = 63; l >= 0; --l)
      if ((count >> l) & 1) acc = op.combine(acc, level[l]);
    return acc;
  }
};

// Merges parts[0..n) in order as a balanced tree (the same tree whatever computed the parts).
template <typename Op, typename Get>
typename Op::acc_t combine_in_order(const Op& op, int64_t n, const Get& part) {
  Cascade<Op> c{op};
  for (int64_t i = 0; i < n; ++i) c.push(part(i));
  return c.result();
}

template <typename scalar_t, typename Op>
struct CpuReducer {
  using acc_t = typename Op::acc_t;
  using out_t = typename Op::out_t;
  using in_t = opmath_t<scalar_t>;
  const ReduceGeom& g;
  const scalar_t* in;
  Op op;

  // Folds n elements at p (stride s) with logical indices k0, k0+1, ..., kBlock at a time into a fresh
  // accumulator pushed onto the cascade.
  void run(const scalar_t* p, int64_t s, int64_t n, int64_t k0, Cascade<Op>& cascade) const {
    for (int64_t bb = 0; bb < n; bb += kBlock) {
      int64_t nb = std::min(kBlock, n - bb), kb = k0 + bb;
      const scalar_t* q = p + bb * s;
      if (s != 1 || nb < kLanes) {
        acc_t blk = op.identity();
        for (int64_t i = 0; i < nb; ++i) blk = op.reduce(blk, static_cast<in_t>(q[i * s]), kb + i);
        cascade.push(blk);
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
      cascade.push(lanes[0]);
    }
  }

  // Accumulator of elements [kb, ke) of the row starting at base.
  acc_t reduce_range(const scalar_t* base, int64_t kb, int64_t ke) const {
    Cascade<Op> cascade{op};
    int64_t n0 = g.inner_size(), s0 = g.inner_stride();
    for (int64_t k = kb; k < ke;) {
      int64_t inner = k % n0, len = std::min(n0 - inner, ke - k);
      const scalar_t* p = base + g.red_outer_offset(k / n0) + inner * s0;
      run(p, s0, len, k, cascade);
      k += len;
    }
    return cascade.result();
  }

  acc_t chunk_of_row(int64_t r, int64_t c) const {
    const int64_t kb = c * kRowChunk;
    return reduce_range(in + g.row_offset(r), kb, std::min(g.K, kb + kRowChunk));
  }

  // Every row is the in-order merge of its fixed chunks. Tasks are whole rows, or (row, chunk) pairs when
  // there are fewer rows than threads; the result is the same either way.
  void rows_loop(out_t* out, int64_t* idx) const {
    const int64_t rows = g.rows, K = g.K, chunks = std::max<int64_t>(1, (K + kRowChunk - 1) / kRowChunk);
    const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (chunks == 1 || rows >= threads) {
      int64_t grain = std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(K, 1));
      cpu::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
          store_result(op, combine_in_order(op, chunks, [&](int64_t c) { return chunk_of_row(r, c); }), out, idx, r);
      });
      return;
    }
    auto partial = make_buffer<acc_t>(rows * chunks);
    cpu::parallel_for(0, rows * chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) partial[t] = chunk_of_row(t / chunks, t % chunks);
    });
    for (int64_t r = 0; r < rows; ++r)
      store_result(op, combine_in_order(op, chunks, [&](int64_t c) { return partial[r * chunks + c]; }), out, idx, r);
  }

  // blk[j] folds element k of row j (rows adjacent in memory) for k in [kb, ke): every k reads one
  // contiguous run of w elements. Four k steps go through registers per load/store of blk, and the
  // inner loop runs in fixed chunks of kColumnVec so the compiler vectorises it without a remainder.
  void fold_columns(const scalar_t* base, int64_t w, int64_t kb, int64_t ke, acc_t* __restrict blk) const {
    int64_t k = kb;
    for (; k + 4 <= ke; k += 4) {
      const scalar_t* __restrict p0 = base + g.k_offset(k);
      const scalar_t* __restrict p1 = base + g.k_offset(k + 1);
      const scalar_t* __restrict p2 = base + g.k_offset(k + 2);
      const scalar_t* __restrict p3 = base + g.k_offset(k + 3);
      auto step = [&](int64_t j) {
        acc_t b = op.reduce(blk[j], static_cast<in_t>(p0[j]), k);
        b = op.reduce(b, static_cast<in_t>(p1[j]), k + 1);
        b = op.reduce(b, static_cast<in_t>(p2[j]), k + 2);
        blk[j] = op.reduce(b, static_cast<in_t>(p3[j]), k + 3);
      };
      int64_t j = 0;
      for (; j + kColumnVec <= w; j += kColumnVec)
        for (int64_t v = 0; v < kColumnVec; ++v) step(j + v);
      for (; j < w; ++j) step(j);
    }
    for (; k < ke; ++k) {
      const scalar_t* __restrict p = base + g.k_offset(k);
      for (int64_t j = 0; j < w; ++j) blk[j] = op.reduce(blk[j], static_cast<in_t>(p[j]), k);
    }
  }

  // Rows adjacent in memory (innermost kept stride 1): walk k outside and a block of up to kColumnWidth
  // rows inside, so memory streams row after row. Tasks are (outer row group, row block, fixed K chunk of
  // kColumnChunk steps); the chunks' partials merge in order as a balanced tree, so the result depends on
  // neither the thread count nor how the tasks were spread.
  void column_loop(out_t* out, int64_t* idx) const {
    int64_t m = g.kept_sizes[g.nkept - 1], K = g.K;
    int64_t W = std::min(m, kColumnWidth), wblocks = (m + W - 1) / W;
    int64_t blocks = (g.rows / m) * wblocks;
    const int64_t splits = std::max<int64_t>(1, (K + kColumnChunk - 1) / kColumnChunk), chunk = kColumnChunk;
    auto partial = make_buffer<acc_t>(splits > 1 ? blocks * splits * W : 0);
    int64_t grain = std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(W * chunk, 1));
    cpu::parallel_for(0, blocks * splits, grain, [&](int64_t b, int64_t e) {
      auto acc = make_buffer<acc_t>(W), blk = make_buffer<acc_t>(W);
      for (int64_t t = b; t < e; ++t) {
        int64_t blkid = t / splits, s = t % splits;
        int64_t o = blkid / wblocks, j0 = (blkid % wblocks) * W;
        int64_t w = std::min(W, m - j0), r0 = o * m + j0;
        int64_t k0 = std::min(K, s * chunk), k1 = std::min(K, k0 + chunk);
        const scalar_t* base = in + g.row_offset(r0);
        for (int64_t j = 0; j < w; ++j) acc[j] = op.identity();
        for (int64_t kb = k0; kb < k1; kb += kColumnBlock) {  // cascade, as in run()
          for (int64_t j = 0; j < w; ++j) blk[j] = op.identity();
          fold_columns(base, w, kb, std::min(k1, kb + kColumnBlock), blk.get());
          for (int64_t j = 0; j < w; ++j) acc[j] = op.combine(acc[j], blk[j]);
        }
        if (splits == 1) {
          for (int64_t j = 0; j < w; ++j) store_result(op, acc[j], out, idx, r0 + j);
        } else {
          std::copy(acc.get(), acc.get() + w, partial.get() + t * W);
        }
      }
    });
    if (splits == 1) return;
    for (int64_t blkid = 0; blkid < blocks; ++blkid) {
      int64_t o = blkid / wblocks, j0 = (blkid % wblocks) * W, w = std::min(W, m - j0);
      for (int64_t j = 0; j < w; ++j) {
        acc_t a = combine_in_order(op, splits, [&](int64_t s) { return partial[(blkid * splits + s) * W + j]; });
        store_result(op, a, out, idx, o * m + j0 + j);
      }
    }
  }

  void operator()(out_t* out, int64_t* idx) const {
    if (g.rows == 0) return;
    if (g.columnar()) column_loop(out, idx);
    else rows_loop(out, idx);
  }
};

}  // namespace

template <typename scalar_t>
void reduce_cpu_typed(const ReduceCall& c) {
  visit_reduce_op_checked<scalar_t>(c, [&](auto op) {
    using Op = decltype(op);
    CpuReducer<scalar_t, Op> r{c.geom, static_cast<const scalar_t*>(c.in), op};
    r(static_cast<typename Op::out_t*>(c.out), c.indices);
  });
}
template void reduce_cpu_typed<instance_t>(const ReduceCall&);
}  // namespace kiln::ops
