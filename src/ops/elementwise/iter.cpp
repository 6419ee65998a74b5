// Building an ElementwiseIter: broadcast strides, dim coalescing, and the device check.
#include "ops/elementwise/iter.h"

#include <algorithm>
#include <numeric>

#include "kiln/core/error.h"
#include "ops/op_stream.h"

namespace kiln::ops {

void check_same_device(const char* op, const std::vector<const Tensor*>& tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    if (t->device() != first->device())
      throw DeviceError(detail::str(op, ": expected all tensors on the same device, but found ", first->device(),
                                    " and ", t->device(), ". Move them with .to(", first->device(),
                                    ") (or .to(device) for the one you want) before the op."));
  }
}

MemoryFormat elementwise_format(const Shape& shape, std::initializer_list<const Tensor*> inputs) {
  if (shape.size() != 4) return MemoryFormat::Contiguous;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->sizes() == shape) return t->suggest_memory_format();
  return MemoryFormat::Contiguous;
}

Tensor make_elementwise_output(const Shape& shape, DType dtype, Device device,
                               std::initializer_list<const Tensor*> inputs) {
  return make_tensor(shape, dtype, device, elementwise_format(shape, inputs));
}

ElementwiseIter make_elementwise_iter(const Tensor& out, const std::vector<Tensor>& inputs, const char* op) {
  KILN_CHECK(inputs.size() + 1 <= static_cast<size_t>(kMaxOperands), op, ": too many operands");
  std::vector<const Tensor*> all{&out};
  for (auto& t : inputs) all.push_back(&t);
  check_same_device(op, all);
  const Shape& shape = out.sizes();
  int ndim = static_cast<int>(shape.size());
  KILN_CHECK_SHAPE(ndim <= kMaxDims, op, ": tensors with more than ", kMaxDims, " dims are not supported");

  // Writing through a broadcast (stride-0) view would make several results race for one element.
  for (int d = 0; d < ndim; ++d)
    if (shape[d] > 1 && out.strides()[d] == 0)
      throw ValueError(detail::str(op, ": unsupported operation: more than one element of the written-to tensor "
                                   "refers to a single memory location (an expanded view); clone() it first"));

  ElementwiseIter it;
  it.numel = out.numel();
  it.device = out.device();
  it.stream = op_stream(it.device);
  it.noperands = static_cast<int>(all.size());
  // Per-operand strides aligned to the output's dims; broadcast dims get stride 0.
  int64_t strides[kMaxOperands][kMaxDims] = {};
  for (int k = 0; k < it.noperands; ++k) {
    const Tensor& t = *all[k];
    it.data[k] = t.data_ptr();
    it.dtypes[k] = t.dtype();
    int tnd = static_cast<int>(t.dim());
    KILN_CHECK_SHAPE(tnd <= ndim, op, ": input of shape ", t.shape_str(), " cannot broadcast to output shape ",
                     shape_to_string(shape));
    for (int d = 0; d < ndim; ++d) {
      int td = d - (ndim - tnd);
      if (td < 0) continue;
      int64_t s = t.sizes()[td];
      if (s == shape[d]) strides[k][d] = s == 1 ? 0 : t.strides()[td];
      else if (s == 1) strides[k][d] = 0;
      else
        throw ShapeError(detail::str(op, ": input of shape ", t.shape_str(), " cannot broadcast to output shape ",
                                     shape_to_string(shape)));
    }
  }
  // Walk the dims in the output's memory order, outermost first: a channels-last result and channels-last inputs
  // then coalesce into one contiguous run. For a contiguous output the order is the dims' own.
  int order[kMaxDims];
  std::iota(order, order + ndim, 0);
  std::stable_sort(order, order + ndim, [&](int a, int b) { return strides[0][a] > strides[0][b]; });
  // Coalesce: drop size-1 dims, merge d into the next when every operand is contiguous across them.
  int nd = 0;
  int64_t sizes[kMaxDims];
  int64_t cs[kMaxOperands][kMaxDims];
  for (int i = 0; i < ndim; ++i) {
    const int d = order[i];
    if (shape[d] == 1) continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int k = 0; k < it.noperands; ++k)
        if (cs[k][nd - 1] != strides[k][d] * shape[d]) mergeable = false;
      if (mergeable) {
        sizes[nd - 1] *= shape[d];
        for (int k = 0; k < it.noperands; ++k) cs[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    sizes[nd] = shape[d];
    for (int k = 0; k < it.noperands; ++k) cs[k][nd] = strides[k][d];
    ++nd;
  }
  it.calc.ndim = nd;
  it.calc.noperands = it.noperands;
  for (int d = 0; d < nd; ++d) {
    it.calc.sizes[d] = sizes[d];
    for (int k = 0; k < it.noperands; ++k) it.calc.strides[k][d] = cs[k][d];
  }
  it.contiguous = nd == 0;
  if (nd == 1) {
    it.contiguous = true;
    for (int k = 0; k < it.noperands; ++k)
      if (cs[k][0] != 1) it.contiguous = false;
  }
  return it;
}
}  // namespace kiln::ops
