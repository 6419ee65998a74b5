// Tensor's autograd methods: requires_grad, grad, backward, detach, hooks.
#include "autograd/views.h"
#include "kiln/autograd/autograd.h"

namespace kiln {
using autograd::meta;
using autograd::meta_if_exists;

bool Tensor::requires_grad() const {
  auto* m = meta_if_exists(*this);
  if (!m) return false;
  if (m->requires_grad || m->grad_fn) return true;
  // A view made in grad mode of a base that has come to require grad (an in-place write into another view of it
  // with an operand that requires grad) joins its base's history; its grad_fn is remade when next asked for.
  return m->view && m->view->creation == autograd::ViewCreation::Default && m->view->base.requires_grad();
}

const Tensor& Tensor::requires_grad_(bool requires) const {
  auto* m = meta_if_exists(*this);
  if (m && m->grad_fn) {
    KILN_CHECK_T(AutogradError, requires, "requires_grad_(false) on a non-leaf tensor: use detach() instead");
    return *this;
  }
  if (requires)
    KILN_CHECK_DTYPE(is_floating_point(), "only floating-point tensors can require gradients; got dtype ", dtype());
  autograd::AutogradMeta& m2 = meta(*this);
  m2.requires_grad = requires;
  // A leaf that requires grad is a root: writes into its views are refused, not rebased onto a base.
  if (requires) m2.view.reset();
  return *this;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  auto* m = meta_if_exists(*this);
  return m ? m->grad : undefined;
}
Tensor& Tensor::mutable_grad() { return meta(*this).grad; }
void Tensor::set_grad(const Tensor& g) {
  if (g.defined())
    KILN_CHECK_SHAPE(g.sizes() == sizes(), "assigned grad has shape ", g.shape_str(), " but the tensor has shape ",
                     shape_str());
  meta(*this).grad = g;
}
bool Tensor::is_leaf() const { return !autograd::current_grad_fn(*this); }
std::shared_ptr<autograd::Node> Tensor::grad_fn() const { return autograd::current_grad_fn(*this); }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph);
}

Tensor Tensor::detach() const { return make_view(*this, sizes(), strides(), storage_offset()); }
const Tensor& Tensor::detach_() const {
  impl()->autograd.reset();
  return *this;
}

void Tensor::retain_grad() const {
  auto* m = meta_if_exists(*this);
  KILN_CHECK_T(AutogradError, requires_grad(), "retain_grad() on a tensor that does not require grad");
  auto fn = grad_fn();
  if (!fn || m->retains_grad) return;  // leaves keep .grad anyway
  m->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_ptr();
  fn->pre_hooks.emplace_back(m->output_nr, [weak](const Tensor& g) {
    if (auto impl = weak.lock()) {
      auto& slot = impl->autograd->grad;
      slot = slot.defined() ? kiln::Tensor(slot).add(g) : g.detach().clone();
    }
    return Tensor();
  });
}

int Tensor::register_hook(std::function<Tensor(const Tensor&)> fn) const {
  KILN_CHECK_T(AutogradError, requires_grad(), "cannot register a hook on a tensor that does not require grad");
  auto& m = meta(*this);
  int id = m.next_hook_id++;
  if (auto node = grad_fn()) {
    // Non-leaf: the hook runs on the gradient entering grad_fn at this output.
    node->pre_hooks.emplace_back(m.output_nr, fn);
  }
  m.hooks.emplace_back(id, std::move(fn));
  return id;
}

void Tensor::remove_hook(int handle) const {
  auto* m = meta_if_exists(*this);
  if (!m) return;
  for (auto it = m->hooks.begin(); it != m->hooks.end(); ++it)
    if (it->first == handle) {
      m->hooks.erase(it);
      return;
    }
}
}  // namespace kiln
