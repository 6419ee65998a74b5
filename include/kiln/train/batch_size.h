// train::find_max_batch_size: the largest batch whose training step fits in memory, found by trying steps and
// backing off on OutOfMemoryError (what `kiln train --batch-size auto` runs).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"
#include "kiln/tensor/tensor.h"
#include "kiln/train/train_step.h"

namespace kiln::train {

/// Makes one batch of `batch_size` rows (inputs, targets) on the model's device. The values do not matter,
/// only the shapes and dtypes: memory use does not depend on them.
using MakeBatchFn = std::function<std::pair<Tensor, Tensor>(int64_t batch_size)>;

struct BatchSizeOptions {
  int64_t start = 1;         ///< the first size tried; doubled until a step fails
  int64_t max = 1 << 16;     ///< never more than this (the dataset size, say)
  /// The search stops once the gap between the largest size that fitted and the smallest that did not is
  /// at most this fraction of the former (0: search to the exact size).
  double tolerance = 0.05;
  /// On the CPU without a limit (kiln::cpu::set_memory_limit), the search runs under a temporary limit of
  /// this fraction of MemAvailable (/proc/meminfo) above what kiln already holds.
  double cpu_available_fraction = 0.8;
};

struct BatchSizeResult {
  int64_t batch_size = 0;                         ///< the largest size whose step fitted
  std::vector<std::pair<int64_t, bool>> trials;   ///< each size tried, and whether it fitted
  int64_t memory_limit = 0;                       ///< the byte limit the search ran under (0: the device's own)
  std::string explanation;                        ///< one sentence for the user: what was chosen and why
};

/// Finds the largest batch size, up to options.max, for which one training step (zero_grad, forward, loss,
/// backward, optimizer step: a PlainStep) runs without OutOfMemoryError on the module's device, doubling from
/// options.start and then bisecting. The module's parameters and buffers, the optimizer's state, the
/// gradients (cleared) and the default random generator are restored afterwards, and the cache of the
/// device's allocator is emptied, so the process is as before. On the CPU the limit comes from
/// kiln::cpu::memory_limit() or, when none is set, from MemAvailable. Throws OutOfMemoryError when even
/// options.start does not fit, ValueError for bad options.
BatchSizeResult find_max_batch_size(nn::Module& module, const ForwardFn& forward, const LossFn& loss,
                                    optim::Optimizer& optimizer, const MakeBatchFn& make_batch,
                                    const BatchSizeOptions& options = {});

/// A MakeBatchFn for classifiers: float32 zeros of shape {batch, sample_shape...} and int64 class 0 targets.
MakeBatchFn classification_batches(Shape sample_shape, Device device);

}  // namespace kiln::train
