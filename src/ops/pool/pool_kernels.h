// Dispatch stubs of the pooling family (max, average, adaptive average over 2-D windows of contiguous NCHW
// tensors) and the window arithmetic that every device shares.
#pragma once
#include <cstdint>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// One pooling: `planes` (N * C) input planes [h, w] pooled to [oh, ow]. Adaptive pooling ignores the kernel,
/// stride, padding and dilation and derives each window from the sizes.
struct PoolGeometry {
  int64_t planes = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  bool count_include_pad = true;
  bool adaptive = false;
  DType dtype = DType::Float32;
  cuda::Stream stream;  // where a CUDA kernel runs (null for the CPU)
};

/// The input rows [begin, end) an average window covers along one dim, and the divisor's share of that dim:
/// PyTorch's rules (the padded extent counts when count_include_pad; adaptive windows split in floor/ceil).
struct PoolSpan {
  int64_t begin, end, count;
};
KILN_HD PoolSpan avg_span(int64_t o, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                                 bool adaptive, bool count_include_pad) {
  if (adaptive) {
    int64_t b = o * in / out, e = ((o + 1) * in + out - 1) / out;
    return {b, e, e - b};
  }
  int64_t b = o * stride - pad, e = b + k;
  if (e > in + pad) e = in + pad;
  int64_t padded = e - b;
  if (b < 0) b = 0;
  if (e > in) e = in;
  return {b, e, count_include_pad ? padded : e - b};
}

/// y [planes, oh, ow] and the flat in-plane index of each maximum (int64, -1 when a window is all padding).
KILN_DECLARE_DISPATCH(max_pool2d_forward_stub,
                      void (*)(const PoolGeometry&, const Tensor& x, Tensor& y, Tensor& indices));
/// grad_x (overwritten) from grad_y and the forward's indices.
KILN_DECLARE_DISPATCH(max_pool2d_backward_stub,
                      void (*)(const PoolGeometry&, const Tensor& grad_y, const Tensor& indices, Tensor& grad_x));
/// Average (or adaptive average) pooling: y = window mean.
KILN_DECLARE_DISPATCH(avg_pool2d_forward_stub, void (*)(const PoolGeometry&, const Tensor& x, Tensor& y));
/// grad_x (overwritten): each grad_y spread evenly over its window.
KILN_DECLARE_DISPATCH(avg_pool2d_backward_stub, void (*)(const PoolGeometry&, const Tensor& grad_y, Tensor& grad_x));
}  // namespace kiln::ops
