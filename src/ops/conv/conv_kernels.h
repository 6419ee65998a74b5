// Dispatch stubs of the convolution family: 2-D convolution forward, backward-data and backward-weights on
// dense NCHW or channels-last tensors, described once by Conv2dGeometry.
#pragma once
#include <cstdint>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// The sizes of one 2-D convolution: x [n, c_in, h, w], weight [c_out, c_in / groups, kh, kw],
/// y [n, c_out, oh, ow]. Padding may differ per side ('same' with an even kernel pads more at the end, as
/// PyTorch). Every kernel receives tensors of `dtype` dense in the geometry's format: contiguous (NCHW data, OIHW
/// weights) or, with channels_last, NHWC data and OHWI weights (still indexed [n][c][h][w], as kiln tensors).
struct Conv2dGeometry {
  int64_t n = 0, c_in = 0, h = 0, w = 0;
  int64_t c_out = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t groups = 1;
  bool channels_last = false;
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU); the front end fills it (ops::op_stream)
};

/// y = conv(x, weight) + bias (bias undefined: none). y is allocated by the caller.
KILN_DECLARE_DISPATCH(conv2d_forward_stub,
                      void (*)(const Conv2dGeometry&, const Tensor& x, const Tensor& weight, const Tensor& bias,
                               Tensor& y));
/// grad_x = the gradient of conv(x, weight) with respect to x, given grad_y.
KILN_DECLARE_DISPATCH(conv2d_backward_data_stub,
                      void (*)(const Conv2dGeometry&, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x));
/// grad_weight (and grad_bias when defined) given grad_y and x; both outputs are overwritten.
KILN_DECLARE_DISPATCH(conv2d_backward_weight_stub,
                      void (*)(const Conv2dGeometry&, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                               Tensor& grad_bias));

namespace cpu_conv {
/// The im2col + BLAS convolution (float32 and float64): the float64 path and the independent reference
/// that the oneDNN float32 path is tested against.
void reference_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y);
void reference_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x);
void reference_backward_weight(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                               Tensor& grad_bias);
/// oneDNN primitives (float32 only), created once per geometry and cached.
void onednn_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y);
void onednn_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x);
void onednn_backward_weight(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                            Tensor& grad_bias);
}  // namespace cpu_conv
}  // namespace kiln::ops
