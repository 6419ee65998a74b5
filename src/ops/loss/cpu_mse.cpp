// CPU kernels of the fused mean-squared-error loss: partial sums in double over fixed chunks (kMseChunk), added
// in chunk order, so the loss does not depend on the thread count.
#include <cmath>
#include <vector>

#include "backend/cpu/parallel.h"
#include "ops/data_or_null.h"
#include "ops/loss/mse_kernels.h"

namespace kiln::ops {
namespace {

template <typename T>
void forward_typed(const MseCall& call, const Tensor& x, const Tensor& t, Tensor& out) {
  const T *xp = x.data_ptr<T>(), *tp = t.data_ptr<T>();
  const int64_t chunks = (call.n + kMseChunk - 1) / kMseChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  cpu::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      // Four accumulators in the chunk, so the adds overlap; float rows square in float (vectorised), as the
      // composite's mul did.
      double acc[4] = {0, 0, 0, 0};
      const int64_t begin = c * kMseChunk, end = std::min(call.n, begin + kMseChunk);
      int64_t i = begin;
      for (; i + 4 <= end; i += 4)
        for (int j = 0; j < 4; ++j) {
          const T d = xp[i + j] - tp[i + j];
          acc[j] += d * d;
        }
      for (; i < end; ++i) {
        const T d = xp[i] - tp[i];
        acc[0] += d * d;
      }
      partial[static_cast<size_t>(c)] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
  });
  double sum = 0;
  for (double p : partial) sum += p;
  *out.data_ptr<T>() = static_cast<T>(!call.mean ? sum : call.n == 0 ? NAN : sum / static_cast<double>(call.n));
}

template <typename T>
void backward_typed(const MseCall& call, const Tensor& x, const Tensor& t, const Tensor& grad, Tensor& grad_x,
                    Tensor& grad_t) {
  const T *xp = x.data_ptr<T>(), *tp = t.data_ptr<T>();
  const T f = mse_grad_factor<T>(*grad.data_ptr<T>(), call.n, call.mean);
  T *gx = data_or_null<T>(grad_x), *gt = data_or_null<T>(grad_t);
  cpu::parallel_for(0, call.n, cpu::kGrainSize, [&](int64_t b, int64_t e) {
    if (gx && gt) {
      for (int64_t i = b; i < e; ++i) {
        gx[i] = mse_grad<T>(xp[i], tp[i], f);
        gt[i] = -gx[i];
      }
    } else if (gx) {
      for (int64_t i = b; i < e; ++i) gx[i] = mse_grad<T>(xp[i], tp[i], f);
    } else {
      for (int64_t i = b; i < e; ++i) gt[i] = -mse_grad<T>(xp[i], tp[i], f);
    }
  });
}

void forward_cpu(const MseCall& call, const Tensor& x, const Tensor& t, Tensor& out) {
  if (call.dtype == kFloat64) forward_typed<double>(call, x, t, out);
  else forward_typed<float>(call, x, t, out);
}
void backward_cpu(const MseCall& call, const Tensor& x, const Tensor& t, const Tensor& grad, Tensor& grad_x,
                  Tensor& grad_t) {
  if (call.dtype == kFloat64) backward_typed<double>(call, x, t, grad, grad_x, grad_t);
  else backward_typed<float>(call, x, t, grad, grad_x, grad_t);
}
}  // namespace
KILN_REGISTER_KERNEL(mse_forward_stub, kCPU, forward_cpu);
KILN_REGISTER_KERNEL(mse_backward_stub, kCPU, backward_cpu);
}  // namespace kiln::ops
