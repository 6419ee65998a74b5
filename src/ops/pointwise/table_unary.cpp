// The op table's unary ops (KILN_FORALL_UNARY_OPS): definitions and Tensor methods follow from the table,
// and every call takes one path: autocast's cast (the row's category) -> floating promotion -> the kernel
// through its stub (where the kernel wrappers run) -> autograd recording with the row's gradient.
#include "kiln/autograd/autograd.h"
#include "ops/autocast/autocast_inputs.h"
#include "ops/pointwise/pointwise_common.h"
#include "ops/pointwise/unary_grads.h"

namespace kiln {
namespace ops {
Tensor with_grad(const char* node, const Tensor& a, const Tensor& out, bool save_input, bool save_output,
                 std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> backward) {
  if (!autograd::needs_grad({&a})) return out;
  SavedOutput so = save_output ? SavedOutput(out) : SavedOutput();
  autograd::record(node, out, {a},
                   [sa = save_input ? autograd::SavedTensor(a) : autograd::SavedTensor(), so,
                    backward = std::move(backward)](const autograd::TensorList& g, const std::vector<bool>&) {
                     return autograd::TensorList{
                         backward(g[0], sa.defined() ? sa.get() : Tensor(), so.defined() ? so.get() : Tensor())};
                   });
  so.set_node(out.grad_fn());
  return out;
}

namespace {
enum class Saves : int8_t { Input, Output };

Tensor table_unary(UnaryOp kernel, const char* node, Saves saves, UnaryBackwardFn backward, AutocastCategory autocast,
                   const Tensor& a) {
  if (amp::detail::AutocastInputs c{autocast, {&a}}) return table_unary(kernel, node, saves, backward, autocast, c[0]);
  Tensor out = unary_raw(kernel, cast_for_kernel(a, floating_compute(a.dtype())));
  return with_grad(node, a, out, saves == Saves::Input, saves == Saves::Output, backward);
}
}  // namespace
}  // namespace ops

#define KILN_DEFINE_TABLE_UNARY(name, Kernel, autocast, saves, node)                                          \
  Tensor name(const Tensor& a) {                                                                              \
    return ops::table_unary(ops::UnaryOp::Kernel, #node, ops::Saves::saves, &ops::name##_backward,            \
                            AutocastCategory::autocast, a);                                                   \
  }                                                                                                           \
  Tensor Tensor::name() const { return kiln::name(*this); }
KILN_FORALL_UNARY_OPS(KILN_DEFINE_TABLE_UNARY)
#undef KILN_DEFINE_TABLE_UNARY
}  // namespace kiln
