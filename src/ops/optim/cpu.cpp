// CPU kernels of the fused optimizer updates: one vectorised pass per parameter, split over the thread pool.
#include <cmath>

#include "backend/cpu/parallel.h"
#include "ops/optim/optim_functors.h"
#include "ops/optim/optim_kernels.h"

namespace kiln::ops {
namespace {
// An update reads and writes several buffers and takes a sqrt and a division per element, so a task
// pays for itself at fewer elements than a plain elementwise op.
constexpr int64_t kOptimGrain = cpu::kGrainSize / 4;

struct CpuLoop {
  int64_t n;
  template <typename scalar_t, typename F>
  void operator()(const OptimPtrs<scalar_t>& ptrs, const F& f) const {
    cpu::parallel_for(0, n, kOptimGrain, [&](int64_t begin, int64_t end) {
      const OptimPtrs<scalar_t> local = ptrs;  // a local copy lets the compiler keep the pointers in registers
      const F fn = f;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) optim_element(i, local, fn);
    });
  }
};

void adam_cpu(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor& vmax,
              const AdamHyper& h, cuda::Stream) {
  run_adam(p, g, m, v, vmax, h, CpuLoop{p.numel()});
}
void sgd_cpu(const Tensor& p, const Tensor& g, const Tensor& buf, const SgdHyper& h, cuda::Stream) {
  run_sgd(p, g, buf, h, CpuLoop{p.numel()});
}
void rmsprop_cpu(const Tensor& p, const Tensor& g, const Tensor& sq, const Tensor& gavg, const Tensor& buf,
                 const RmspropHyper& h, cuda::Stream) {
  run_rmsprop(p, g, sq, gavg, buf, h, CpuLoop{p.numel()});
}
void adagrad_cpu(const Tensor& p, const Tensor& g, const Tensor& sum, const AdagradHyper& h, cuda::Stream) {
  run_adagrad(p, g, sum, h, CpuLoop{p.numel()});
}
}  // namespace
KILN_REGISTER_KERNEL(adam_step_stub, kCPU, adam_cpu);
KILN_REGISTER_KERNEL(sgd_step_stub, kCPU, sgd_cpu);
KILN_REGISTER_KERNEL(rmsprop_step_stub, kCPU, rmsprop_cpu);
KILN_REGISTER_KERNEL(adagrad_step_stub, kCPU, adagrad_cpu);
}  // namespace kiln::ops
