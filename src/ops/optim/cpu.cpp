// CPU kernels of the fused optimizer updates: one vectorised pass per parameter, split over the thread pool.
#include <cmath>

#include "backend/cpu/parallel.h"
#include "ops/optim/optim_functors.h"
#include "ops/optim/optim_kernels.h"
#include "ops/simd/vector_kernels.h"

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

// float32 Adam without AMSGrad (the common case) on Highway's vectors: bitwise the functor's result.
void adam_cpu_f32(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, const AdamHyper& h) {
  // The functor's members are acc_t values made from the double hyper-parameters: the same conversions here.
  const simd::AdamF32 hf{float(h.beta1),     float(1 - h.beta1), float(h.beta2),  float(1 - h.beta2),
                         float(h.eps),       float(h.weight_decay), float(h.decay), float(-h.step_size),
                         float(h.bias_correction2_sqrt), h.weight_decay == 0 ? 0 : h.decoupled ? 2 : 1};
  auto ptrs = optim_ptrs<float>(p, g, m, v);
  cpu::parallel_for(0, p.numel(), kOptimGrain, [&](int64_t b, int64_t e) {
    simd::adam_f32(hf, ptrs.param + b, ptrs.grad + b, ptrs.state[0] + b, ptrs.state[1] + b, e - b);
  });
}

void adam_cpu(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor& vmax,
              const AdamHyper& h, cuda::Stream) {
  if (p.dtype() == DType::Float32 && !h.amsgrad) return adam_cpu_f32(p, g, m, v, h);
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
