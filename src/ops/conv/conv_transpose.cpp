// Front end of conv_transpose2d: the transposed convolution composed from the conv2d stubs, so every backend
// that convolves (oneDNN, cuDNN, the im2col reference) serves it with no kernel of its own. Its forward is
// conv2d's backward-data; its gradients are conv2d's forward (input) and backward-weights (weight).
#include <algorithm>

#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/conv/conv_kernels.h"
#include "ops/elementwise/iter.h"
#include "ops/op_stream.h"
#include "ops/autocast/autocast_inputs.h"

namespace kiln::nn::functional {
namespace {
using autograd::SavedTensor;
using autograd::TensorList;

void check_args(const Tensor& x, const Tensor& w, const Tensor& b, const ExpandingArray<2>& stride,
                const ExpandingArray<2>& padding, const ExpandingArray<2>& output_padding, int64_t groups,
                const ExpandingArray<2>& dilation) {
  KILN_CHECK(x.defined() && w.defined(), "conv_transpose2d: undefined input or weight");
  ops::check_same_device("conv_transpose2d", {&x, &w, &b});
  KILN_CHECK_DTYPE(is_floating_point(x.dtype()) && w.dtype() == x.dtype() && (!b.defined() || b.dtype() == x.dtype()),
                   "conv_transpose2d: input, weight and bias must share one floating dtype, got ", x.dtype(), ", ",
                   w.dtype(), b.defined() ? std::string(", ") + dtype_name(b.dtype()) : std::string());
  KILN_CHECK_SHAPE(x.dim() == 4, "conv_transpose2d: expected input [N, C, H, W] (or [C, H, W]), got ", x.shape_str());
  KILN_CHECK_SHAPE(w.dim() == 4, "conv_transpose2d: expected weight [C_in, C_out / groups, kH, kW], got ",
                   w.shape_str());
  KILN_CHECK(groups > 0, "conv_transpose2d: groups must be positive, got ", groups);
  KILN_CHECK_SHAPE(w.size(0) == x.size(1), "conv_transpose2d: weight ", w.shape_str(), " expects ", w.size(0),
                   " input channels (its first dim) but the input ", x.shape_str(), " has ", x.size(1));
  KILN_CHECK_SHAPE(w.size(0) % groups == 0, "conv_transpose2d: groups=", groups, " must divide the input channels (",
                   w.size(0), ")");
  KILN_CHECK_SHAPE(w.size(1) > 0 && w.size(2) > 0 && w.size(3) > 0, "conv_transpose2d: weight ", w.shape_str(),
                   " is empty");
  const int64_t c_out = w.size(1) * groups;
  KILN_CHECK_SHAPE(!b.defined() || (b.dim() == 1 && b.size(0) == c_out), "conv_transpose2d: expected bias [", c_out,
                   "] (one per output channel), got ", b.defined() ? b.shape_str() : "");
  for (int i = 0; i < 2; ++i) {
    KILN_CHECK(stride[i] > 0, "conv_transpose2d: stride must be positive, got (", stride[0], ", ", stride[1], ")");
    KILN_CHECK(dilation[i] > 0, "conv_transpose2d: dilation must be positive, got (", dilation[0], ", ", dilation[1],
               ")");
    KILN_CHECK(padding[i] >= 0, "conv_transpose2d: padding must be non-negative, got (", padding[0], ", ", padding[1],
               ")");
    // PyTorch's rule: a larger output_padding would add rows that no input pixel reaches.
    KILN_CHECK(output_padding[i] >= 0 && (output_padding[i] < stride[i] || output_padding[i] < dilation[i]),
               "conv_transpose2d: output_padding (", output_padding[0], ", ", output_padding[1],
               ") must be non-negative and smaller than either stride (", stride[0], ", ", stride[1],
               ") or dilation (", dilation[0], ", ", dilation[1], ")");
  }
}
}  // namespace

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, ExpandingArray<2> stride,
                        ExpandingArray<2> padding, ExpandingArray<2> output_padding, int64_t groups,
                        ExpandingArray<2> dilation) {
  if (amp::detail::AutocastInputs c{AutocastCategory::LowerPrecision, {&input, &weight, &bias}})
    return conv_transpose2d(c[0], c[1], c[2], stride, padding, output_padding, groups, dilation);
  if (input.defined() && input.dim() == 3)
    return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
        .squeeze(0);
  check_args(input, weight, bias, stride, padding, output_padding, groups, dilation);
  const int64_t n = input.size(0), c_in = input.size(1), h = input.size(2), w = input.size(3);
  const int64_t c_out = weight.size(1) * groups, kh = weight.size(2), kw = weight.size(3);
  const int64_t oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1;
  const int64_t ow = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1;
  KILN_CHECK_SHAPE(oh > 0 && ow > 0, "conv_transpose2d: the output would be ", oh, "x", ow, " for input ",
                   input.shape_str(), " and weight ", weight.shape_str(), "; use less padding");
  // This is conv2d(y_core) = x read backwards: y_core is the conv's input and x its output. output_padding
  // rows beyond the padding receive no input pixel, so the conv sees only the rows it reaches ("core") and
  // those extra rows stay zero (plus the bias).
  const int64_t extra_h = std::max<int64_t>(0, output_padding[0] - padding[0]);
  const int64_t extra_w = std::max<int64_t>(0, output_padding[1] - padding[1]);
  ops::Conv2dGeometry g;
  g.n = n, g.c_in = c_out, g.h = oh - extra_h, g.w = ow - extra_w;
  g.c_out = c_in, g.kh = kh, g.kw = kw, g.oh = h, g.ow = w;
  g.stride_h = stride[0], g.stride_w = stride[1], g.dil_h = dilation[0], g.dil_w = dilation[1];
  g.pad_top = padding[0], g.pad_left = padding[1];
  g.pad_bottom = std::max<int64_t>(0, padding[0] - output_padding[0]);
  g.pad_right = std::max<int64_t>(0, padding[1] - output_padding[1]);
  g.groups = groups;
  g.dtype = input.dtype();
  g.stream = ops::op_stream(input.device());
  const DeviceType dev = input.device().type();
  const bool has_core = g.h > 0 && g.w > 0 && input.numel() > 0;

  // NCHW kernels only (a channels-last input or weight is read through a contiguous copy).
  Tensor x = contiguous(input), wt = contiguous(weight);
  Tensor y = make_tensor({n, c_out, oh, ow}, x.dtype(), x.device());
  if (y.numel() > 0) {
    if (!has_core || extra_h > 0 || extra_w > 0) y.fill_(0);
    if (has_core) {
      if (extra_h == 0 && extra_w == 0) {
        ops::conv2d_backward_data_stub(dev, g, x, wt, y);
      } else {
        Tensor core = make_tensor({n, c_out, g.h, g.w}, x.dtype(), x.device());
        ops::conv2d_backward_data_stub(dev, g, x, wt, core);
        y.narrow(2, 0, g.h).narrow(3, 0, g.w).copy_(core);
      }
    }
    if (bias.defined()) {
      NoGradGuard no_grad;
      y.add_(bias.reshape({1, c_out, 1, 1}));
    }
  }
  if (autograd::needs_grad({&input, &weight, &bias}))
    autograd::record(
        "ConvolutionBackward0", y, {input, weight, bias},
        [g, dev, has_core, extra = extra_h > 0 || extra_w > 0, sx = SavedTensor(x), sw = SavedTensor(wt),
         weight_format = weight.suggest_memory_format()](
            const TensorList& grads, const std::vector<bool>& need) {
          TensorList r(3);
          Tensor gy = contiguous(grads[0]);
          Tensor gy_core = extra ? contiguous(gy.narrow(2, 0, g.h).narrow(3, 0, g.w)) : gy;
          if (need[0]) {
            r[0] = make_tensor(sx.get().sizes(), gy.dtype(), gy.device());
            if (has_core) ops::conv2d_forward_stub(dev, g, gy_core, sw.get(), Tensor(), r[0]);
            else r[0].fill_(0);
          }
          if (need[1]) {
            r[1] = make_tensor(sw.get().sizes(), gy.dtype(), gy.device());
            Tensor no_bias;
            if (has_core) ops::conv2d_backward_weight_stub(dev, g, sx.get(), gy_core, r[1], no_bias);
            else r[1].fill_(0);
            r[1] = contiguous(r[1], weight_format);  // the parameter's own layout, as conv2d's weight gradient
          }
          if (need[2]) r[2] = sum(gy, {0, 2, 3});
          return r;
        });
  return y;
}
}  // namespace kiln::nn::functional
