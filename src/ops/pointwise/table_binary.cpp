// The generic binary ops of the op table (KILN_FORALL_BINARY_OPS rows marked Generic): their definitions,
// Tensor methods and op-info rows all follow from the table, and every call takes one path: autocast's cast
// (the row's category) -> promotion -> broadcasting -> the kernel through its stub (where the kernel
// wrappers run) -> autograd recording with the row's gradient.
#include "kiln/autograd/autograd.h"
#include "ops/autocast/autocast_inputs.h"
#include "ops/pointwise/binary_grads.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
namespace ops {

const BinaryOpInfo& binary_op_info(BinaryOp op) {
  switch (op) {
#define KILN_BINARY_INFO_ROW(name, E, dtypes, autocast, front)                                             \
  case BinaryOp::E: {                                                                                      \
    static const BinaryOpInfo info{#name, #E "Backward0", BinaryOp::E, KernelDTypes::dtypes, AutocastCategory::autocast}; \
    return info;                                                                                           \
  }
    KILN_FORALL_BINARY_OPS(KILN_BINARY_INFO_ROW)
#undef KILN_BINARY_INFO_ROW
  }
  throw Error("internal error: unknown binary op code " + std::to_string(static_cast<int>(op)));
}

namespace {
Tensor table_binary(BinaryOp op, BinaryBackwardFn backward, const Tensor& a, const Tensor& b) {
  const BinaryOpInfo& info = binary_op_info(op);
  if (amp::detail::AutocastInputs c{info.autocast, {&a, &b}}) return table_binary(op, backward, c[0], c[1]);
  DType compute = result_type(a, b);
  if (info.dtypes == KernelDTypes::Floating) compute = floating_compute(compute);
  if (info.dtypes == KernelDTypes::Numeric)
    check_not_bool(info.name, compute, "Convert the operands to an integer or floating dtype first.");
  Tensor out = binary_raw(info.name, op, a, b, compute);
  if (!autograd::needs_grad({&a, &b})) return out;
  SavedOutput so(out);
  autograd::record(info.node_name, out, {a, b},
                   [ma = InputMeta(a), mb = InputMeta(b), sa = autograd::SavedTensor(a),
                    sb = autograd::SavedTensor(b), so, backward](const autograd::TensorList& g,
                                                                 const std::vector<bool>& need) {
                     auto [ga, gb] = backward(g[0], sa.get(), sb.get(), so.get(), need);
                     return autograd::TensorList{need[0] ? reduce_grad(ga, ma.shape, ma.dtype) : Tensor(),
                                                 need[1] ? reduce_grad(gb, mb.shape, mb.dtype) : Tensor()};
                   });
  so.set_node(out.grad_fn());
  return out;
}
}  // namespace
}  // namespace ops

#define KILN_DEFINE_TABLE_BINARY(name, E, dtypes, autocast, front)                                    \
  KILN_IF_GENERIC_##front(Tensor name(const Tensor& a, const Tensor& b) {                                     \
    return ops::table_binary(ops::BinaryOp::E, &ops::name##_backward, a, b);                          \
  } Tensor Tensor::name(const Tensor& other) const { return kiln::name(*this, other); })
KILN_FORALL_BINARY_OPS(KILN_DEFINE_TABLE_BINARY)
#undef KILN_DEFINE_TABLE_BINARY

Tensor max(const Tensor& a, const Tensor& b) { return maximum(a, b); }
Tensor min(const Tensor& a, const Tensor& b) { return minimum(a, b); }
}  // namespace kiln
