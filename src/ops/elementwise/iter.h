// ElementwiseIter: the operands of an elementwise op broadcast to the output's shape, with dims
// coalesced, plus the index arithmetic (shared by the CPU loop and the CUDA kernel).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "kiln/core/macros.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"

namespace kiln::ops {

constexpr int kMaxDims = 12;
constexpr int kMaxOperands = 4;

/// Maps a linear index over the (coalesced) output shape to each operand's element offset.
struct OffsetCalc {
  int ndim = 0;
  int noperands = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxOperands][kMaxDims] = {};

  KILN_HD void offsets(int64_t linear, int64_t* out) const {
    for (int k = 0; k < kMaxOperands; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t i = linear % sizes[d];
      linear /= sizes[d];
      for (int k = 0; k < kMaxOperands; ++k) out[k] += i * strides[k][d];
    }
  }
};

struct ElementwiseIter {
  int64_t numel = 0;
  int noperands = 0;  // operand 0 is the output
  void* data[kMaxOperands] = {};
  DType dtypes[kMaxOperands] = {};
  OffsetCalc calc;
  /// Every operand is dense and laid out like the output: element i is at data[k] + i.
  bool contiguous = false;
  /// The operands' device (kernels make it current before launching).
  Device device;
  /// The CUDA stream the kernel runs on (null for the CPU); make_elementwise_iter fills it (ops::op_stream).
  cuda::Stream stream;
};

/// Builds the iteration for out = f(inputs...). Inputs must broadcast to out's shape (ShapeError otherwise)
/// and live on out's device (DeviceError otherwise). out must not overlap an input except exactly (in place).
ElementwiseIter make_elementwise_iter(const Tensor& out, const std::vector<Tensor>& inputs, const char* op);

/// The format of an elementwise result of `shape`: channels-last when the first input of that shape is (PyTorch
/// follows its first operand's layout), else contiguous.
MemoryFormat elementwise_format(const Shape& shape, std::initializer_list<const Tensor*> inputs);
/// A fresh result of `shape` for an elementwise op on `inputs`, laid out by elementwise_format.
Tensor make_elementwise_output(const Shape& shape, DType dtype, Device device,
                               std::initializer_list<const Tensor*> inputs);

/// Throws DeviceError naming the op, both devices and the fix when tensors are on different devices.
void check_same_device(const char* op, const std::vector<const Tensor*>& tensors);
}  // namespace kiln::ops
