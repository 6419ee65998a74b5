// CPU kernels of GradScaler's helpers: one parallel pass per gradient, one flag for the whole call.
#include <atomic>

#include "backend/cpu/parallel.h"
#include "ops/amp/amp_functors.h"
#include "ops/amp/amp_kernels.h"

namespace kiln::ops {
namespace {
void unscale_cpu(const std::vector<Tensor>& grads, const Tensor& found_inf, const Tensor& inv_scale, cuda::Stream) {
  if (grads.empty()) return;
  const float inv = *inv_scale.data_ptr<float>();
  std::atomic<bool> any{false};
  KILN_DISPATCH_FLOATING(grads.front().dtype(), "amp_unscale", [&] {
    for (const Tensor& g : grads) {
      scalar_t* data = g.data_ptr<scalar_t>();
      cpu::parallel_for(0, g.numel(), cpu::kGrainSize, [&](int64_t begin, int64_t end) {
        bool bad = false;
        for (int64_t i = begin; i < end; ++i) data[i] = unscale_element(data[i], inv, bad);
        if (bad) any.store(true, std::memory_order_relaxed);
      });
    }
  });
  if (any.load()) *found_inf.data_ptr<float>() = 1.f;
}

void update_scale_cpu(const Tensor& scale, const Tensor& growth_tracker, const Tensor& found_inf,
                      const ScaleUpdate& rule, cuda::Stream) {
  update_scale_element(*scale.data_ptr<float>(), *growth_tracker.data_ptr<int32_t>(), *found_inf.data_ptr<float>(),
                       static_cast<float>(rule.growth_factor), static_cast<float>(rule.backoff_factor),
                       static_cast<int32_t>(rule.growth_interval));
}
}  // namespace
KILN_REGISTER_KERNEL(amp_unscale_stub, kCPU, unscale_cpu);
KILN_REGISTER_KERNEL(amp_update_scale_stub, kCPU, update_scale_cpu);
}  // namespace kiln::ops
