// Building the graph: autograd metadata, recording nodes, saved tensors and the in-place checks.
#include <atomic>

#include "autograd/views.h"
#include "kiln/autograd/autograd.h"

namespace kiln::autograd {
namespace {
std::atomic<uint64_t> sequence_counter{0};

bool is_one_of(const Tensor& t, const std::vector<Tensor>& ts) {
  for (const Tensor& u : ts)
    if (u.is_same(t)) return true;
  return false;
}
}  // namespace

uint64_t next_sequence_nr() { return sequence_counter.fetch_add(1); }

AutogradMeta& meta(const Tensor& t) {
  KILN_CHECK(t.defined(), "autograd: undefined tensor");
  auto& m = t.impl()->autograd;
  if (!m) m = std::make_shared<AutogradMeta>();
  return *m;
}
AutogradMeta* meta_if_exists(const Tensor& t) { return t.defined() ? t.impl()->autograd.get() : nullptr; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}
bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = meta_if_exists(t);
  if (!m) return {};
  if (auto fn = current_grad_fn(t)) return {fn, m->output_nr};
  if (!m->requires_grad) return {};
  auto acc = m->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>();
    acc->variable = t.impl_ptr();
    acc->output_shapes.push_back(t.sizes());
    acc->output_dtypes.push_back(t.dtype());
    acc->output_devices.push_back(t.device());
    m->grad_accumulator = acc;
  }
  return {acc, 0};
}

std::shared_ptr<Node> record(const char* name, const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                             BackwardFn backward) {
  auto node = std::make_shared<Node>(name, std::move(backward));
  node->sequence_nr = next_sequence_nr();
  node->next_edges.reserve(inputs.size());
  for (const Tensor& in : inputs) node->next_edges.push_back(in.defined() ? gradient_edge(in) : Edge{});
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->output_shapes.push_back(out.sizes());
    node->output_dtypes.push_back(out.dtype());
    node->output_devices.push_back(out.device());
    AutogradMeta& m = meta(out);
    m.grad_fn = node;
    m.output_nr = static_cast<uint32_t>(i);
    m.requires_grad = false;  // non-leaf: requires_grad() is derived from grad_fn
    if (m.view && is_one_of(out, inputs)) rebase_view(out, node);  // an in-place write into a view
  }
  return node;
}

Tensor record(const char* name, const Tensor& out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  record(name, std::vector<Tensor>{out}, inputs, std::move(backward));
  return out;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  version_ = t._version();
  // No description is formatted here: this runs for every saved tensor of every recorded op, and the alias
  // kept below has the saved tensor's shape and dtype, so get() describes it only when it has to throw.
  AutogradMeta* m = is_output ? nullptr : meta_if_exists(t);
  std::shared_ptr<Node> fn = m ? current_grad_fn(t) : nullptr;
  if (m && !fn && m->requires_grad) {  // a leaf that requires grad: its gradient must reach its accumulator
    tensor_ = t;
    return;
  }
  // Anything else is saved as an alias carrying only the history it has now: the live tensor's autograd state
  // can change (an in-place write rebases a view's base), and holding it could close a cycle through the node
  // saving it (a view holds its base). An output saved by its own node gets no history at all, or node and
  // tensor would keep each other alive.
  tensor_ = make_view(t, t.sizes(), t.strides(), t.storage_offset());
  if (fn) {
    AutogradMeta& saved = meta(tensor_);
    saved.grad_fn = std::move(fn);
    saved.output_nr = m->output_nr;
  }
}

Tensor SavedTensor::get() const {
  if (tensor_.defined() && tensor_._version() != version_)
    throw AutogradError("one of the tensors needed for gradient computation has been modified by an in-place "
                        "operation: tensor of shape " + tensor_.shape_str() + " " + dtype_name(tensor_.dtype()) +
                        " is at version " +
                        std::to_string(tensor_._version()) + "; expected version " + std::to_string(version_) +
                        ". Use an out-of-place op (e.g. x = x + y instead of x += y) or clone() it first.");
  return tensor_;
}

void check_inplace(const Tensor& t, const char* op, bool inputs_require_grad) {
  if (grad_mode_enabled()) {
    AutogradMeta* m = meta_if_exists(t);
    if (m && m->requires_grad && !m->grad_fn)
      throw AutogradError(std::string(op) + ": a leaf tensor that requires grad is being used in an in-place "
                          "operation. Wrap the update in kiln::NoGradGuard (as optimizers do) or use an out-of-place op.");
    if (m && m->view) check_view_inplace(t, *m, op, inputs_require_grad);
  }
  t.storage()->bump_version();
}
}  // namespace kiln::autograd
