// CPU registrations of the convolution family: float32 through oneDNN, float64 (which oneDNN lacks) through
// the im2col reference, as is everything in a build without oneDNN (KILN_ONEDNN=OFF).
#include "ops/conv/conv_kernels.h"

namespace kiln::ops {
namespace {
#if KILN_WITH_ONEDNN
void forward_cpu(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) {
  if (g.dtype == kFloat32) cpu_conv::onednn_forward(g, x, w, b, y);
  else cpu_conv::reference_forward(g, x, w, b, y);
}
void backward_data_cpu(const Conv2dGeometry& g, const Tensor& gy, const Tensor& w, Tensor& gx) {
  if (g.dtype == kFloat32) cpu_conv::onednn_backward_data(g, gy, w, gx);
  else cpu_conv::reference_backward_data(g, gy, w, gx);
}
void backward_weight_cpu(const Conv2dGeometry& g, const Tensor& gy, const Tensor& x, Tensor& gw, Tensor& gb) {
  if (g.dtype == kFloat32) cpu_conv::onednn_backward_weight(g, gy, x, gw, gb);
  else cpu_conv::reference_backward_weight(g, gy, x, gw, gb);
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
