// How a list of tensors is cut into multi-tensor kernel launches (PyTorch's multi_tensor_apply): each launch
// carries up to `max_pieces` pieces in its arguments, each piece a run of one tensor's elements served by
// blocks of `chunk` elements. Host code, shared by every multi-tensor CUDA kernel (GradScaler's unscale, the
// optimizers' many-parameter steps) and tested on the CPU.
#pragma once
#include <cstdint>
#include <vector>

namespace kiln::ops {

/// Elements [offset, offset + count) of tensor `tensor` (its index in the list).
struct TensorPiece {
  int tensor = 0;
  int64_t offset = 0, count = 0;
};

/// One launch: its pieces, and first_block (pieces + 1 entries): block b serves piece p where
/// first_block[p] <= b < first_block[p + 1]; first_block.back() is the grid size.
struct MultiTensorLaunch {
  std::vector<TensorPiece> pieces;
  std::vector<int32_t> first_block{0};
};

/// Every element of every non-empty tensor lands in exactly one piece, in list order; a tensor larger than what
/// is left of a launch's grid (max_blocks) is split over launches. Requires max_pieces >= 1, chunk >= 1.
std::vector<MultiTensorLaunch> plan_multi_tensor(const std::vector<int64_t>& numels, int max_pieces, int64_t chunk,
                                                 int64_t max_blocks = int64_t{1} << 30);
}  // namespace kiln::ops
