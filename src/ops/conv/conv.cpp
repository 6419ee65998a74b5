// Front end of the convolution family: conv2d's argument checks and geometry, its gradient (backward-data and
// backward-weights kernels), and conv1d as a conv2d of height 1.
#include "kiln/nn/functional/conv.h"

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/conv/conv_kernels.h"
#include "ops/elementwise/iter.h"
#include "ops/op_stream.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(conv2d_forward_stub);
KILN_DEFINE_DISPATCH(conv2d_backward_data_stub);
KILN_DEFINE_DISPATCH(conv2d_backward_weight_stub);
}  // namespace ops

namespace nn::functional {
namespace {
using autograd::SavedTensor;
using autograd::TensorList;

// One spatial dim's output size, or a ShapeError when the dilated kernel does not fit the padded input.
int64_t out_size(const char* op, const char* dim, int64_t in, int64_t pad_total, int64_t k, int64_t dil, int64_t stride,
                 const Tensor& x, const Tensor& w) {
  const int64_t span = dil * (k - 1) + 1;
  KILN_CHECK_SHAPE(in + pad_total >= span, op, ": the kernel's ", dim, " (", span, " with dilation) is larger than the ",
                   "padded input's (", in, " + ", pad_total, " padding) for input ", x.shape_str(), " and weight ",
                   w.shape_str(), "; use a smaller kernel or more padding");
  return (in + pad_total - span) / stride + 1;
}

ops::Conv2dGeometry geometry(const Tensor& x, const Tensor& w, const ExpandingArray<2>& stride,
                             const ConvPadding<2>& padding, const ExpandingArray<2>& dilation, int64_t groups) {
  ops::Conv2dGeometry g;
  g.n = x.size(0), g.c_in = x.size(1), g.h = x.size(2), g.w = x.size(3);
  g.c_out = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.stride_h = stride[0], g.stride_w = stride[1], g.dil_h = dilation[0], g.dil_w = dilation[1];
  g.groups = groups;
  if (padding.same) {
    KILN_CHECK(g.stride_h == 1 && g.stride_w == 1, "conv2d: padding=\"same\" needs stride 1, got (", g.stride_h, ", ",
               g.stride_w, ")");
    // PyTorch's rule: the total is dilation * (k - 1); an odd total puts the extra row/column at the end.
    const int64_t th = g.dil_h * (g.kh - 1), tw = g.dil_w * (g.kw - 1);
    g.pad_top = th / 2, g.pad_bottom = th - th / 2, g.pad_left = tw / 2, g.pad_right = tw - tw / 2;
  } else {
    g.pad_top = g.pad_bottom = padding.size[0];
    g.pad_left = g.pad_right = padding.size[1];
  }
  g.oh = out_size("conv2d", "height", g.h, g.pad_top + g.pad_bottom, g.kh, g.dil_h, g.stride_h, x, w);
  g.ow = out_size("conv2d", "width", g.w, g.pad_left + g.pad_right, g.kw, g.dil_w, g.stride_w, x, w);
  g.dtype = x.dtype();
  g.stream = ops::op_stream(x.device());
  return g;
}

MemoryFormat conv_format(const Tensor& x, const Tensor& w) {
  const bool cl = x.suggest_memory_format() == MemoryFormat::ChannelsLast ||
                  w.suggest_memory_format() == MemoryFormat::ChannelsLast;
  return cl ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous;
}

void check_args(const Tensor& x, const Tensor& w, const Tensor& b, const ExpandingArray<2>& stride,
                const ConvPadding<2>& padding, const ExpandingArray<2>& dilation, int64_t groups) {
  KILN_CHECK(x.defined() && w.defined(), "conv2d: undefined input or weight");
  ops::check_same_device("conv2d", {&x, &w, &b});
  KILN_CHECK_DTYPE(is_floating_point(x.dtype()) && w.dtype() == x.dtype() && (!b.defined() || b.dtype() == x.dtype()),
                   "conv2d: input, weight and bias must share one floating dtype, got ", x.dtype(), ", ", w.dtype(),
                   b.defined() ? std::string(", ") + dtype_name(b.dtype()) : std::string());
  KILN_CHECK_SHAPE(x.dim() == 4, "conv2d: expected input [N, C, H, W] (or [C, H, W]), got ", x.shape_str());
  KILN_CHECK_SHAPE(w.dim() == 4, "conv2d: expected weight [C_out, C_in / groups, kH, kW], got ", w.shape_str());
  KILN_CHECK(groups > 0, "conv2d: groups must be positive, got ", groups);
  KILN_CHECK_SHAPE(x.size(1) % groups == 0 && w.size(0) % groups == 0, "conv2d: groups=", groups,
                   " must divide both the input channels (", x.size(1), ") and the output channels (", w.size(0), ")");
  KILN_CHECK_SHAPE(w.size(1) * groups == x.size(1), "conv2d: weight ", w.shape_str(), " expects ", w.size(1) * groups,
                   " input channels (C_in / groups = ", w.size(1), ", groups = ", groups, ") but the input ",
                   x.shape_str(), " has ", x.size(1));
  KILN_CHECK_SHAPE(!b.defined() || (b.dim() == 1 && b.size(0) == w.size(0)), "conv2d: expected bias [", w.size(0),
                   "] (one per output channel), got ", b.defined() ? b.shape_str() : "");
  for (int i = 0; i < 2; ++i) {
    KILN_CHECK(stride[i] > 0, "conv2d: stride must be positive, got (", stride[0], ", ", stride[1], ")");
    KILN_CHECK(dilation[i] > 0, "conv2d: dilation must be positive, got (", dilation[0], ", ", dilation[1], ")");
    KILN_CHECK(padding.same || padding.size[i] >= 0, "conv2d: padding must be non-negative, got (", padding.size[0],
               ", ", padding.size[1], ")");
  }
  KILN_CHECK_SHAPE(w.size(2) > 0 && w.size(3) > 0 && w.size(0) > 0, "conv2d: weight ", w.shape_str(), " is empty");
}
}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, ExpandingArray<2> stride,
              ConvPadding<2> padding, ExpandingArray<2> dilation, int64_t groups) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&input, &weight, &bias}})
    return conv2d(c[0], c[1], c[2], stride, padding, dilation, groups);
  if (input.defined() && input.dim() == 3)
    return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  check_args(input, weight, bias, stride, padding, dilation, groups);
  ops::Conv2dGeometry g = geometry(input, weight, stride, padding, dilation, groups);
  const DeviceType dev = input.device().type();
  // PyTorch's rule: channels-last when the input or the weight is; the kernels then see both in that format.
  const MemoryFormat format = conv_format(input, weight);
  const MemoryFormat weight_format = weight.suggest_memory_format();
  g.channels_last = format == MemoryFormat::ChannelsLast;
  Tensor x, w, b;
  {
    NoGradGuard no_grad;  // layout copies for the kernels; the node below is recorded on the inputs themselves
    x = contiguous(input, format), w = contiguous(weight, format), b = bias.defined() ? contiguous(bias) : Tensor();
  }
  Tensor y = make_tensor({g.n, g.c_out, g.oh, g.ow}, x.dtype(), x.device(), format);
  if (y.numel() > 0) {
    if (g.n * g.c_in * g.h * g.w == 0) y.fill_(0);  // no input pixels: only the bias (added below)
    else ops::conv2d_forward_stub(dev, g, x, w, b, y);
  }
  if (autograd::needs_grad({&input, &weight, &bias}))
    autograd::record("ConvolutionBackward0", y, {input, weight, bias},
                     [g, dev, format, weight_format, sx = SavedTensor(x), sw = SavedTensor(w),
                      has_bias = bias.defined()](const TensorList& grads, const std::vector<bool>& need) {
                       TensorList r(3);
                       Tensor gy = contiguous(grads[0], format);
                       if (need[0]) {
                         r[0] = make_tensor({g.n, g.c_in, g.h, g.w}, gy.dtype(), gy.device(), format);
                         ops::conv2d_backward_data_stub(dev, g, gy, sw.get(), r[0]);
                       }
                       if (need[1] || (has_bias && need[2])) {
                         Tensor gw = make_tensor(sw.get().sizes(), gy.dtype(), gy.device(), format);
                         Tensor gb = has_bias ? make_tensor({g.c_out}, gy.dtype(), gy.device()) : Tensor();
                         ops::conv2d_backward_weight_stub(dev, g, gy, sx.get(), gw, gb);
                         // In the weight's own layout, so that the optimizer's fused step sees matching strides.
                         if (need[1]) r[1] = contiguous(gw, weight_format);
                         if (has_bias && need[2]) r[2] = gb;
                       }
                       return r;
                     });
  return y;
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ExpandingArray<1> stride,
              ConvPadding<1> padding, ExpandingArray<1> dilation, int64_t groups) {
  KILN_CHECK(x.defined() && weight.defined(), "conv1d: undefined input or weight");
  KILN_CHECK_SHAPE(x.dim() == 2 || x.dim() == 3, "conv1d: expected input [N, C, L] (or [C, L]), got ", x.shape_str());
  KILN_CHECK_SHAPE(weight.dim() == 3, "conv1d: expected weight [C_out, C_in / groups, k], got ", weight.shape_str());
  ConvPadding<2> pad2 = padding.same ? ConvPadding<2>("same") : ConvPadding<2>({0, padding.size[0]});
  const int64_t h_dim = x.dim() - 1;  // the new height-1 dim sits before the length
  Tensor y = conv2d(x.unsqueeze(h_dim), weight.unsqueeze(2), bias, {1, stride[0]}, pad2, {1, dilation[0]}, groups);
  return y.squeeze(h_dim);
}
}  // namespace nn::functional
}  // namespace kiln
