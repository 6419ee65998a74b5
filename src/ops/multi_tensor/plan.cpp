// Cutting tensor lists into multi-tensor launches.
#include "ops/multi_tensor/plan.h"

#include <algorithm>

#include "kiln/core/error.h"

namespace kiln::ops {

std::vector<MultiTensorLaunch> plan_multi_tensor(const std::vector<int64_t>& numels, int max_pieces, int64_t chunk,
                                                 int64_t max_blocks) {
  KILN_CHECK(max_pieces >= 1 && chunk >= 1 && max_blocks >= 1, "plan_multi_tensor: bad limits");
  std::vector<MultiTensorLaunch> launches;
  MultiTensorLaunch current;
  auto flush = [&] {
    if (current.pieces.empty()) return;
    launches.push_back(std::move(current));
    current = MultiTensorLaunch{};
  };
  for (size_t t = 0; t < numels.size(); ++t) {
    int64_t done = 0;
    while (done < numels[t]) {
      const int64_t room = max_blocks - current.first_block.back();
      const int64_t blocks = std::min((numels[t] - done + chunk - 1) / chunk, room);
      const int64_t taken = std::min(numels[t] - done, blocks * chunk);
      current.pieces.push_back({static_cast<int>(t), done, taken});
      current.first_block.push_back(static_cast<int32_t>(current.first_block.back() + blocks));
      done += taken;
      if (static_cast<int>(current.pieces.size()) == max_pieces || blocks == room) flush();
    }
  }
  flush();
  return launches;
}
}  // namespace kiln::ops
