// CPU test of the order in which the CUDA index check reports a bad index: the shared position functions make
// the lowest position in the CUDA visiting order the CPU loop's first bad index, whatever order threads run in.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "ops/index/index_functors.h"

namespace {
using kiln::ops::IndexGeom;

/// The CPU check's loop (cpu_index.cpp): outer positions, then inner steps.
int64_t cpu_first_bad(const IndexGeom& g, const std::vector<int64_t>& idx) {
  for (int64_t o = 0; o < g.outer; ++o) {
    int64_t oi, os, oo;
    g.offsets(o, oi, os, oo);
    for (int64_t j = 0; j < g.inner; ++j) {
      const int64_t v = idx[oi + j * g.idx_inner_stride];
      if (!g.in_range(v)) return v;
    }
  }
  return -1;
}

/// The CUDA check (cuda_index.cu): threads visit l = j * outer + o in any order and keep the lowest position.
int64_t cuda_first_bad(const IndexGeom& g, const std::vector<int64_t>& idx, std::mt19937& rng) {
  std::vector<int64_t> ls(g.outer * g.inner);
  std::iota(ls.begin(), ls.end(), int64_t{0});
  std::shuffle(ls.begin(), ls.end(), rng);  // the order threads happen to run in
  uint64_t first = std::numeric_limits<uint64_t>::max();
  for (int64_t l : ls) {
    const int64_t j = l / g.outer, o = l - j * g.outer;
    int64_t oi, os, oo;
    g.offsets(o, oi, os, oo);
    if (!g.in_range(idx[oi + j * g.idx_inner_stride]))
      first = std::min<uint64_t>(first, static_cast<uint64_t>(kiln::ops::index_check_position(g, l)));
  }
  if (first == std::numeric_limits<uint64_t>::max()) return -1;
  return idx[kiln::ops::index_offset_at(g, static_cast<int64_t>(first))];
}

TEST(IndexCheckOrder, CudaOrderReportsTheCpuFirstBadIndex) {
  std::mt19937 rng(3);
  // An index of shape [5, 6, 7] (row-major), indexing along dim 1 (inner = 6; outer dims 0 and 2).
  IndexGeom g;
  g.ndim = 2;
  g.sizes[0] = 5;
  g.sizes[1] = 7;
  g.idx_strides[0] = 42;
  g.idx_strides[1] = 1;
  g.outer = 35;
  g.inner = 6;
  g.idx_inner_stride = 7;
  g.self_dim_size = 10;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> idx(210);
    for (auto& v : idx) v = static_cast<int64_t>(rng() % 10);
    const int bad = static_cast<int>(rng() % 6);
    for (int k = 0; k < bad; ++k) idx[rng() % idx.size()] = 10 + static_cast<int64_t>(rng() % 1000);
    EXPECT_EQ(cuda_first_bad(g, idx, rng), cpu_first_bad(g, idx)) << "trial " << trial;
  }
}

}  // namespace
