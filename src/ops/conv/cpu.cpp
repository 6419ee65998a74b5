// CPU registrations of the convolution family: float32 through oneDNN, bfloat16 (autocast) through oneDNN's
// bfloat16 kernels where the CPU has them (AVX-512) and else widened to float32 and rounded once, float64 (which
// oneDNN lacks) through the im2col reference, as is everything in a build without oneDNN (KILN_ONEDNN=OFF).
#include <atomic>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "ops/conv/conv_kernels.h"

namespace kiln::ops {
namespace {
#if KILN_WITH_ONEDNN
// Runs a bfloat16 convolution with oneDNN's own kernels, or, where oneDNN has none for this CPU, on float32 copies
// of the inputs with the result rounded into the bfloat16 outputs. oneDNN's cache keeps only primitives it could
// make, so the first refusal is remembered: a CPU without bfloat16 kernels (no AVX-512) then widens at once instead
// of asking oneDNN again on every call.
template <typename Native, typename Widened>
void bf16_or_widened(const Native& native, const Widened& widened) {
  static std::atomic<bool> native_refused{false};
  if (!native_refused.load(std::memory_order_relaxed)) {
    try {
      return native();
    } catch (const NotImplemented&) {
      native_refused.store(true, std::memory_order_relaxed);
    }
  }
  NoGradGuard no_grad;  // the float32 copies are scratch, never part of a graph
  widened();
}
Conv2dGeometry as_float32(Conv2dGeometry g) {
  g.dtype = kFloat32;
  return g;
}
Tensor widen(const Tensor& t) { return t.defined() ? t.to(kFloat32) : t; }

void forward_cpu(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) {
  if (g.dtype == kFloat32) return cpu_conv::onednn_forward(g, x, w, b, y);
  if (g.dtype != kBFloat16) return cpu_conv::reference_forward(g, x, w, b, y);
  bf16_or_widened([&] { cpu_conv::onednn_forward(g, x, w, b, y); },
                  [&] {
                    Tensor y32 = widen(y);
                    cpu_conv::onednn_forward(as_float32(g), widen(x), widen(w), widen(b), y32);
                    y.copy_(y32);
                  });
}
void backward_data_cpu(const Conv2dGeometry& g, const Tensor& gy, const Tensor& w, Tensor& gx) {
  if (g.dtype == kFloat32) return cpu_conv::onednn_backward_data(g, gy, w, gx);
  if (g.dtype != kBFloat16) return cpu_conv::reference_backward_data(g, gy, w, gx);
  bf16_or_widened([&] { cpu_conv::onednn_backward_data(g, gy, w, gx); },
                  [&] {
                    Tensor gx32 = widen(gx);
                    cpu_conv::onednn_backward_data(as_float32(g), widen(gy), widen(w), gx32);
                    gx.copy_(gx32);
                  });
}
void backward_weight_cpu(const Conv2dGeometry& g, const Tensor& gy, const Tensor& x, Tensor& gw, Tensor& gb) {
  if (g.dtype == kFloat32) return cpu_conv::onednn_backward_weight(g, gy, x, gw, gb);
  if (g.dtype != kBFloat16) return cpu_conv::reference_backward_weight(g, gy, x, gw, gb);
  bf16_or_widened([&] { cpu_conv::onednn_backward_weight(g, gy, x, gw, gb); },
                  [&] {
                    Tensor gw32 = widen(gw), gb32 = widen(gb);
                    cpu_conv::onednn_backward_weight(as_float32(g), widen(gy), widen(x), gw32, gb32);
                    gw.copy_(gw32);
                    if (gb.defined()) gb.copy_(gb32);
                  });
}
#else
constexpr auto forward_cpu = cpu_conv::reference_forward;
constexpr auto backward_data_cpu = cpu_conv::reference_backward_data;
constexpr auto backward_weight_cpu = cpu_conv::reference_backward_weight;
#endif
}  // namespace

KILN_REGISTER_KERNEL(conv2d_forward_stub, kCPU, forward_cpu);
KILN_REGISTER_KERNEL(conv2d_backward_data_stub, kCPU, backward_data_cpu);
KILN_REGISTER_KERNEL(conv2d_backward_weight_stub, kCPU, backward_weight_cpu);
}  // namespace kiln::ops
