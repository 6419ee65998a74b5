// Front end of the pooling family: max_pool2d (with indices), avg_pool2d and adaptive_avg_pool2d, their
// argument checks, output sizes (PyTorch's rules, ceil_mode included) and gradients.
#include <tuple>

#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/op_stream.h"
#include "ops/pool/pool_kernels.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(max_pool2d_forward_stub);
KILN_DEFINE_DISPATCH(max_pool2d_backward_stub);
KILN_DEFINE_DISPATCH(avg_pool2d_forward_stub);
KILN_DEFINE_DISPATCH(avg_pool2d_backward_stub);
}  // namespace ops

namespace nn::functional {
namespace {
using autograd::SavedTensor;
using autograd::TensorList;

void check_input(const char* op, const Tensor& x) {
  KILN_CHECK(x.defined(), op, ": undefined input");
  KILN_CHECK_DTYPE(x.dtype() == kFloat32 || x.dtype() == kFloat64, op, ": expected a float32 or float64 input, got ",
                   x.dtype());
  KILN_CHECK_SHAPE(x.dim() == 4, op, ": expected input [N, C, H, W] (or [C, H, W]), got ", x.shape_str());
  KILN_CHECK_SHAPE(x.size(2) > 0 && x.size(3) > 0, op, ": the input ", x.shape_str(), " has an empty plane");
}

// PyTorch's pooling output size: ceil_mode rounds up, but a last window must start inside the input or the
// left padding.
int64_t pool_out(const char* op, const char* dim, const Tensor& x, int64_t in, int64_t k, int64_t pad, int64_t stride,
                 int64_t dil, bool ceil_mode) {
  const int64_t span = dil * (k - 1) + 1, room = in + 2 * pad - span;
  KILN_CHECK_SHAPE(room >= 0, op, ": the window's ", dim, " (", span, ") is larger than the padded input's (", in,
                   " + 2 * ", pad, ") for input ", x.shape_str());
  int64_t o = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
  if (ceil_mode && (o - 1) * stride >= in + pad) --o;
  return o;
}

// The planes of x, in its format: a channels-last input is pooled as NHWC (and so are its results).
void set_planes(ops::PoolGeometry& g, const Tensor& x) {
  g.planes = x.size(0) * x.size(1), g.channels = x.size(1), g.h = x.size(2), g.w = x.size(3);
  g.channels_last = x.suggest_memory_format() == MemoryFormat::ChannelsLast;
}
MemoryFormat format_of(const ops::PoolGeometry& g) {
  return g.channels_last ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous;
}

ops::PoolGeometry window_geometry(const char* op, const Tensor& x, const ExpandingArray<2>& kernel,
                                  const ExpandingArray<2>& stride_arg, const ExpandingArray<2>& padding,
                                  const ExpandingArray<2>& dilation, bool ceil_mode) {
  ops::PoolGeometry g;
  ExpandingArray<2> stride = stride_arg[0] == 0 && stride_arg[1] == 0 ? kernel : stride_arg;
  for (int i = 0; i < 2; ++i) {
    KILN_CHECK(kernel[i] > 0, op, ": kernel_size must be positive, got (", kernel[0], ", ", kernel[1], ")");
    KILN_CHECK(stride[i] > 0, op, ": stride must be positive (or 0 for kernel_size), got (", stride[0], ", ",
               stride[1], ")");
    KILN_CHECK(dilation[i] > 0, op, ": dilation must be positive, got (", dilation[0], ", ", dilation[1], ")");
    KILN_CHECK(padding[i] >= 0 && padding[i] <= kernel[i] / 2, op, ": padding must be between 0 and half the kernel ",
               "size, got padding (", padding[0], ", ", padding[1], ") for kernel (", kernel[0], ", ", kernel[1], ")");
  }
  set_planes(g, x);
  g.kh = kernel[0], g.kw = kernel[1], g.stride_h = stride[0], g.stride_w = stride[1];
  g.pad_h = padding[0], g.pad_w = padding[1], g.dil_h = dilation[0], g.dil_w = dilation[1];
  g.oh = pool_out(op, "height", x, g.h, g.kh, g.pad_h, g.stride_h, g.dil_h, ceil_mode);
  g.ow = pool_out(op, "width", x, g.w, g.kw, g.pad_w, g.stride_w, g.dil_w, ceil_mode);
  g.dtype = x.dtype();
  g.stream = ops::op_stream(x.device());
  return g;
}

// Runs the average kernels for g (plain or adaptive) and records their gradient.
Tensor avg_pool(const char* node, const Tensor& input, const Tensor& x, const ops::PoolGeometry& g) {
  const DeviceType dev = x.device().type();
  Tensor y = make_tensor({x.size(0), x.size(1), g.oh, g.ow}, x.dtype(), x.device(), format_of(g));
  if (y.numel() > 0) ops::avg_pool2d_forward_stub(dev, g, x, y);
  if (autograd::needs_grad({&input}))
    autograd::record(node, y, {input}, [g, dev, in_shape = x.sizes()](const TensorList& grads, const std::vector<bool>&) {
      Tensor gy = contiguous(grads[0], format_of(g));
      Tensor gx = make_tensor(in_shape, gy.dtype(), gy.device(), format_of(g));
      if (gx.numel() > 0) ops::avg_pool2d_backward_stub(dev, g, gy, gx);
      return TensorList{gx};
    });
  return y;
}
}  // namespace

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, ExpandingArray<2> kernel_size,
                                                   ExpandingArray<2> stride, ExpandingArray<2> padding,
                                                   ExpandingArray<2> dilation, bool ceil_mode) {
  // The pooling kernels compute float32 and float64 only: under autocast a 16-bit input is pooled in float32.
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input}})
    return max_pool2d_with_indices(c[0], kernel_size, stride, padding, dilation, ceil_mode);
  if (input.defined() && input.dim() == 3) {
    auto [y, i] = max_pool2d_with_indices(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode);
    return {y.squeeze(0), i.squeeze(0)};
  }
  check_input("max_pool2d", input);
  const ops::PoolGeometry g = window_geometry("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode);
  const DeviceType dev = input.device().type();
  Tensor x = contiguous(input, format_of(g));
  Tensor y = make_tensor({x.size(0), x.size(1), g.oh, g.ow}, x.dtype(), x.device(), format_of(g));
  Tensor indices = make_tensor(y.sizes(), kInt64, x.device(), format_of(g));
  if (y.numel() > 0) ops::max_pool2d_forward_stub(dev, g, x, y, indices);
  if (autograd::needs_grad({&input}))
    autograd::record("MaxPool2DWithIndicesBackward", y, {input},
                     [g, dev, indices, in_shape = x.sizes()](const TensorList& grads, const std::vector<bool>&) {
                       Tensor gy = contiguous(grads[0], format_of(g));
                       Tensor gx = make_tensor(in_shape, gy.dtype(), gy.device(), format_of(g));
                       if (gx.numel() > 0) ops::max_pool2d_backward_stub(dev, g, gy, indices, gx);
                       return TensorList{gx};
                     });
  return {y, indices};
}

Tensor max_pool2d(const Tensor& x, ExpandingArray<2> kernel_size, ExpandingArray<2> stride, ExpandingArray<2> padding,
                  ExpandingArray<2> dilation, bool ceil_mode) {
  return std::get<0>(max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode));
}

Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, ExpandingArray<2> stride,
                  ExpandingArray<2> padding, bool ceil_mode, bool count_include_pad) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input}})
    return avg_pool2d(c[0], kernel_size, stride, padding, ceil_mode, count_include_pad);
  if (input.defined() && input.dim() == 3)
    return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode, count_include_pad).squeeze(0);
  check_input("avg_pool2d", input);
  ops::PoolGeometry g = window_geometry("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode);
  g.count_include_pad = count_include_pad;
  return avg_pool("AvgPool2DBackward", input, contiguous(input, format_of(g)), g);
}

Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32, {&input}}) return adaptive_avg_pool2d(c[0], output_size);
  if (input.defined() && input.dim() == 3) return adaptive_avg_pool2d(input.unsqueeze(0), output_size).squeeze(0);
  check_input("adaptive_avg_pool2d", input);
  KILN_CHECK(output_size[0] > 0 && output_size[1] > 0, "adaptive_avg_pool2d: output_size must be positive, got (",
             output_size[0], ", ", output_size[1], ")");
  ops::PoolGeometry g;
  set_planes(g, input);
  g.oh = output_size[0], g.ow = output_size[1];
  g.adaptive = true;
  g.dtype = input.dtype();
  g.stream = ops::op_stream(input.device());
  return avg_pool("AdaptiveAvgPool2DBackward", input, contiguous(input, format_of(g)), g);
}
}  // namespace nn::functional
}  // namespace kiln
