// plan_multi_tensor: how tensor lists are cut into multi-tensor launches (the host side of the CUDA kernels of
// GradScaler's unscale and of Adam over many parameters).
#include <gtest/gtest.h>

#include <vector>

#include "kiln/core/error.h"
#include "ops/multi_tensor/plan.h"

namespace kiln {
namespace {
using ops::MultiTensorLaunch;
using ops::plan_multi_tensor;

// Checks the plan's invariants and returns, per tensor, how many of its elements the plan covers (each exactly
// once, in order).
std::vector<int64_t> covered(const std::vector<MultiTensorLaunch>& plan, size_t tensors, int max_pieces, int64_t chunk,
                             int64_t max_blocks) {
  std::vector<int64_t> next(tensors, 0);
  for (const MultiTensorLaunch& l : plan) {
    EXPECT_FALSE(l.pieces.empty());
    EXPECT_LE(static_cast<int>(l.pieces.size()), max_pieces);
    EXPECT_EQ(l.first_block.size(), l.pieces.size() + 1);
    EXPECT_EQ(l.first_block.front(), 0);
    EXPECT_LE(l.first_block.back(), max_blocks);
    for (size_t p = 0; p < l.pieces.size(); ++p) {
      const auto& piece = l.pieces[p];
      EXPECT_EQ(piece.offset, next[piece.tensor]) << "pieces of a tensor come in order, without gaps";
      EXPECT_GT(piece.count, 0);
      EXPECT_EQ(l.first_block[p + 1] - l.first_block[p], (piece.count + chunk - 1) / chunk);
      next[piece.tensor] += piece.count;
    }
  }
  return next;
}

TEST(MultiTensorPlan, CoversEveryElementOnceWithinTheLimits) {
  struct Case {
    std::vector<int64_t> numels;
    int max_pieces;
    int64_t chunk, max_blocks;
    size_t launches;
  };
  const std::vector<Case> cases = {
      {{}, 4, 8, 1 << 30, 0},                            // nothing to do
      {{0, 0}, 4, 8, 1 << 30, 0},                        // empty tensors take no piece
      {{5, 8, 9}, 4, 8, 1 << 30, 1},                     // one launch: 1 + 1 + 2 blocks
      {{1, 1, 1, 1, 1, 1, 1, 1, 1}, 4, 8, 1 << 30, 3},  // four pieces per launch
      {{100}, 4, 8, 5, 3},                               // 13 blocks over grids of 5: split over launches
      {{30, 0, 17, 64, 3}, 2, 16, 3, 3},                 // both limits at once
  };
  for (const Case& c : cases) {
    const auto plan = plan_multi_tensor(c.numels, c.max_pieces, c.chunk, c.max_blocks);
    EXPECT_EQ(plan.size(), c.launches);
    EXPECT_EQ(covered(plan, c.numels.size(), c.max_pieces, c.chunk, c.max_blocks), c.numels);
  }
  EXPECT_THROW(plan_multi_tensor({1}, 0, 8), ValueError);
}
}  // namespace
}  // namespace kiln
