// train::find_max_batch_size: double the batch until a training step runs out of memory, bisect, then put the
// model, optimizer, generator and allocator back as they were.
#include "kiln/train/batch_size.h"

#include <algorithm>

#include "kiln/autograd/autograd.h"
#include "kiln/core/cpu_memory.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::train {
namespace {

Device device_of(nn::Module& module) {
  for (const Tensor& p : module.parameters()) return p.device();
  return Device("cpu");
}

/// Everything a trial step changes, copied before the search and put back after it.
class TrainingSnapshot {
 public:
  TrainingSnapshot(nn::Module& module, optim::Optimizer& optimizer) : module_(module), optimizer_(optimizer) {
    NoGradGuard no_grad;
    for (const auto& kv : module.state_dict()) module_state_[kv.first] = kv.second.detach().clone();
    for (const auto& kv : optimizer.state_dict()) optimizer_state_[kv.first] = kv.second.detach().clone();
    seed_ = default_generator().seed();
    offset_ = default_generator().offset();
  }
  void restore() {
    NoGradGuard no_grad;
    module_.load_state_dict(module_state_);
    optimizer_.load_state_dict(optimizer_state_);
    optimizer_.zero_grad();
    default_generator().manual_seed(seed_);
    default_generator().set_offset(offset_);
  }

 private:
  nn::Module& module_;
  optim::Optimizer& optimizer_;
  StateDict module_state_, optimizer_state_;
  uint64_t seed_ = 0, offset_ = 0;
};

/// On the CPU without a limit, a temporary one from MemAvailable, so that the search backs off before the
/// machine swaps or the kernel's OOM killer steps in; removed again at the end of the search.
class CpuSearchLimit {
 public:
  CpuSearchLimit(Device device, double available_fraction) {
    if (!device.is_cpu()) return;
    limit_ = cpu::memory_limit();
    if (limit_ > 0) return;
    const int64_t available = cpu::available_memory();
    if (available <= 0) return;  // no /proc/meminfo: the system's own refusal is the limit
    limit_ = cpu::memory_reserved() + static_cast<int64_t>(available_fraction * static_cast<double>(available));
    cpu::set_memory_limit(limit_);
    temporary_ = true;
  }
  ~CpuSearchLimit() {
    if (temporary_) cpu::set_memory_limit(0);
  }
  int64_t limit() const { return limit_; }
  bool from_meminfo() const { return temporary_; }

 private:
  int64_t limit_ = 0;
  bool temporary_ = false;
};

void empty_cache_of(Device device) {
  if (device.is_cuda())
    cuda::empty_cache();
  else
    cpu::empty_cache();
}
}  // namespace

BatchSizeResult find_max_batch_size(nn::Module& module, const ForwardFn& forward, const LossFn& loss,
                                    optim::Optimizer& optimizer, const MakeBatchFn& make_batch,
                                    const BatchSizeOptions& options) {
  KILN_CHECK(options.start >= 1 && options.max >= options.start, "find_max_batch_size: need 1 <= start <= max, got start ",
             options.start, " and max ", options.max);
  KILN_CHECK(options.tolerance >= 0 && options.tolerance < 1, "find_max_batch_size: tolerance must be in [0, 1), got ",
             options.tolerance);
  const Device device = device_of(module);
  BatchSizeResult result;
  TrainingSnapshot snapshot(module, optimizer);
  {
    CpuSearchLimit cpu_limit(device, options.cpu_available_fraction);
    result.memory_limit = device.is_cuda() ? cuda::memory_stats(device.index()).limit_bytes : cpu_limit.limit();
    const bool was_training = module.is_training();
    module.train();
    PlainStep step;
    StepContext ctx{module, forward, loss, optimizer};
    auto fits = [&](int64_t batch) {
      bool ok = true;
      try {
        auto [x, y] = make_batch(batch);
        StepOutput out = step.run(ctx, x, y);
        out.loss.item();  // waits for the device, so a failure shows here and not in the next trial
      } catch (const OutOfMemoryError&) {
        ok = false;
      }
      optimizer.zero_grad();  // the gradients of a failed step would hold memory into the next trial
      result.trials.emplace_back(batch, ok);
      return ok;
    };

    int64_t good = 0, bad = 0;  // the largest size that fitted, the smallest that did not (0: none yet)
    for (int64_t b = options.start;; b = std::min(b * 2, options.max)) {
      if (!fits(b)) {
        bad = b;
        break;
      }
      good = b;
      if (b == options.max) break;
    }
    while (good > 0 && bad > 0 && static_cast<double>(bad - good) > std::max(1.0, options.tolerance * good)) {
      const int64_t mid = good + (bad - good) / 2;
      (fits(mid) ? good : bad) = mid;
    }
    module.train(was_training);
    result.batch_size = good;
    if (good == 0) {
      snapshot.restore();
      empty_cache_of(device);
      throw OutOfMemoryError(detail::str("find_max_batch_size: even a batch of ", options.start,
                                         " rows does not fit in memory on ", device.str(),
                                         result.memory_limit > 0 ? detail::str(" (limit ", result.memory_limit, " bytes)")
                                                                 : std::string(),
                                         "; use a smaller model"));
    }
    std::string why;
    if (good == options.max)
      why = detail::str("the largest allowed (", options.max, ") fitted");
    else
      why = detail::str(bad, " ran out of memory");
    std::string limit;
    if (cpu_limit.from_meminfo())
      limit = detail::str(" under a limit of ", result.memory_limit >> 20, " MiB from MemAvailable");
    else if (result.memory_limit > 0)
      limit = detail::str(" under a limit of ", result.memory_limit >> 20, " MiB");
    result.explanation = detail::str("batch size ", good, " on ", device.str(), ": ", why, limit, " (",
                                     result.trials.size(), " trial steps; model and optimizer restored)");
  }
  snapshot.restore();
  empty_cache_of(device);
  return result;
}

MakeBatchFn classification_batches(Shape sample_shape, Device device) {
  return [sample_shape = std::move(sample_shape), device](int64_t batch) {
    Shape shape{batch};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    return std::make_pair(zeros(shape, TensorOptions().device(device)),
                          zeros({batch}, TensorOptions().device(device).dtype(kInt64)));
  };
}
}  // namespace kiln::train
