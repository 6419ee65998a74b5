// The backward engine: runs the graph's nodes in dependency order, accumulating gradients.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "kiln/autograd/autograd.h"
#include "ops/autocast/autocast_inputs.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"

namespace kiln::autograd {
namespace {

struct Captured {
  Node* node;
  uint32_t input_nr;
};

// Adds g into slot (out of place when the graph is being recorded, so recorded tensors stay intact).
void accumulate(Tensor& slot, const Tensor& g) {
  if (!g.defined()) return;
  if (!slot.defined()) slot = g;
  else slot = add(slot, g);
}

// A hook may replace a gradient only with one of the same shape, dtype and device (PyTorch checks the same at
// backward; caught later, a wrong shape would surface far away, in the optimizer).
Tensor checked_hook_result(const Tensor& g, Tensor r) {
  if (!r.defined()) return g;
  KILN_CHECK_T(AutogradError, r.sizes() == g.sizes() && r.dtype() == g.dtype() && r.device() == g.device(),
               "a gradient hook returned a ", r.dtype(), " tensor of shape ", r.shape_str(), " on ", r.device(),
               " for a ", g.dtype(), " gradient of shape ", g.shape_str(), " on ", g.device(),
               "; a hook must return a tensor like its gradient (or an undefined tensor to keep it)");
  return r;
}

Tensor run_hooks(const std::vector<std::pair<int, GradHook>>& hooks, Tensor g) {
  for (auto& [id, fn] : hooks) g = checked_hook_result(g, fn(g));
  return g;
}

void accumulate_into_leaf(AccumulateGrad& acc, Tensor g, bool create_graph) {
  auto impl = acc.variable.lock();
  if (!impl) return;  // the leaf is gone; nothing to accumulate into
  Tensor var(impl);
  AutogradMeta& m = meta(var);
  g = run_hooks(m.hooks, g);
  if (!g.defined()) return;
  if (!m.grad.defined()) {
    // A gradient shared with another slot must not be aliased by .grad (later += would change both).
    bool unique = g.impl_ptr().use_count() <= 2 && g.storage().use_count() == 1;
    m.grad = create_graph ? g : (unique ? g.detach() : g.detach().clone());
  } else if (create_graph || grad_mode_enabled()) {
    m.grad = add(m.grad, g);
  } else {
    add_(m.grad, g);
  }
  for (auto& [id, hook] : m.post_accumulate_hooks) hook(var);
}

void check_grad_shape(const Node& node, size_t i, const Tensor& g) {
  if (!g.defined()) return;
  if (g.sizes() != node.output_shapes[i])
    throw AutogradError("autograd: " + node.name() + " received a gradient of shape " + g.shape_str() +
                        " for an output of shape " + shape_to_string(node.output_shapes[i]));
}

// Runs backward from the roots. When captures is non-null, gradients at those edges are returned
// instead of accumulated into leaves.
std::vector<Tensor> run_backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph,
                                 bool create_graph, const std::vector<Captured>* captures) {
  KILN_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(), "backward: got ", grad_roots.size(),
             " gradients for ", roots.size(), " tensors");
  std::vector<Edge> root_edges;
  std::vector<Tensor> root_grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    Edge e = gradient_edge(r);
    if (!e.valid())
      throw AutogradError("element " + std::to_string(i) + " of tensors does not require grad and does not have a "
                          "grad_fn (did you forget requires_grad_(true), or compute it under NoGradGuard?)");
    Tensor g = i < grad_roots.size() ? grad_roots[i] : Tensor();
    if (!g.defined()) {
      KILN_CHECK_SHAPE(r.numel() == 1, "grad can be implicitly created only for scalar outputs; got shape ",
                       r.shape_str(), ". Pass a gradient to backward().");
      g = ones_like(r);
    } else {
      KILN_CHECK_SHAPE(g.sizes() == r.sizes(), "backward: gradient of shape ", g.shape_str(),
                       " does not match the tensor's shape ", r.shape_str());
    }
    root_edges.push_back(e);
    root_grads.push_back(g);
  }

  // Count how many edges point at each node reachable from the roots.
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep;
  std::vector<Node*> stack;
  for (auto& e : root_edges)
    if (!keep.count(e.node.get())) {
      keep[e.node.get()] = e.node;
      stack.push_back(e.node.get());
    }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& e : n->next_edges) {
      if (!e.valid()) continue;
      deps[e.node.get()]++;
      if (!keep.count(e.node.get())) {
        keep[e.node.get()] = e.node;
        stack.push_back(e.node.get());
      }
    }
  }

  AutoGradMode mode(create_graph);
  // Backward ops run in the dtypes the forward chose (PyTorch's rule), even when backward() is called in an
  // autocast region: a gradient must keep its input's dtype.
  amp::detail::AutocastOff no_autocast;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto buffer_of = [&](Node* n) -> std::vector<Tensor>& {
    auto& b = buffers[n];
    if (b.empty()) b.resize(std::max<size_t>(n->num_outputs(), 1));
    return b;
  };
  for (size_t i = 0; i < root_edges.size(); ++i) accumulate(buffer_of(root_edges[i].node.get())[root_edges[i].input_nr], root_grads[i]);

  std::vector<Tensor> captured(captures ? captures->size() : 0);
  auto cmp = [](Node* a, Node* b) { return a->sequence_nr < b->sequence_nr; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(cmp)> ready(cmp);
  for (auto& [n, _] : keep)
    if (deps[n] == 0) ready.push(n);

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    std::vector<Tensor> grads = std::move(buffer_of(node));
    buffers.erase(node);
    for (auto& [nr, hook] : node->pre_hooks) {
      if (nr < grads.size() && grads[nr].defined()) grads[nr] = checked_hook_result(grads[nr], hook(grads[nr]));
    }
    bool captured_here = false;
    if (captures) {
      for (size_t c = 0; c < captures->size(); ++c)
        if ((*captures)[c].node == node) {
          accumulate(captured[c], grads[(*captures)[c].input_nr]);
          captured_here = true;
        }
    }
    std::vector<Tensor> input_grads;
    if (auto* acc = dynamic_cast<AccumulateGrad*>(node)) {
      if (!captures && grads[0].defined()) accumulate_into_leaf(*acc, grads[0], create_graph);
    } else if (!(captured_here && node->next_edges.empty())) {
      bool any = false;
      for (auto& g : grads) any = any || g.defined();
      if (any) {
        if (node->released || !node->backward)
          throw AutogradError("trying to backward through the graph a second time (or directly access saved tensors "
                              "after they have been freed). Pass retain_graph=true to the first backward() if you "
                              "need to backward through it twice.");
        for (size_t i = 0; i < grads.size(); ++i) {
          if (!grads[i].defined())
            grads[i] = zeros(node->output_shapes[i], TensorOptions().dtype(node->output_dtypes[i]).device(node->output_devices[i]));
          check_grad_shape(*node, i, grads[i]);
        }
        std::vector<bool> needs(node->next_edges.size());
        for (size_t i = 0; i < needs.size(); ++i) needs[i] = node->next_edges[i].valid();
        input_grads = node->backward(grads, needs);
      }
      if (!retain_graph) {
        node->backward = nullptr;  // frees the saved tensors
        node->released = true;
      }
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      Node* next = e.node.get();
      if (i < input_grads.size() && input_grads[i].defined()) {
        const Tensor& g = input_grads[i];
        if (next->num_outputs() > e.input_nr && g.sizes() != next->output_shapes[e.input_nr])
          throw AutogradError("autograd: " + node->name() + " returned a gradient of shape " + g.shape_str() +
                              " for input " + std::to_string(i) + " of shape " +
                              shape_to_string(next->output_shapes[e.input_nr]));
        accumulate(buffer_of(next)[e.input_nr], g);
      }
      if (--deps[next] == 0) ready.push(next);
    }
  }
  return captured;
}
}  // namespace

void backward(const TensorList& roots, const TensorList& grad_roots, bool retain_graph, bool create_graph) {
  run_backward(roots, grad_roots, retain_graph || create_graph, create_graph, nullptr);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs, bool retain_graph,
                bool create_graph, bool allow_unused) {
  std::vector<Captured> captures;
  std::vector<std::shared_ptr<Node>> hold;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Edge e = gradient_edge(inputs[i]);
    if (!e.valid())
      throw AutogradError("grad: input " + std::to_string(i) + " does not require grad");
    hold.push_back(e.node);
    captures.push_back({e.node.get(), e.input_nr});
  }
  TensorList result = run_backward(outputs, grad_outputs, retain_graph || create_graph, create_graph, &captures);
  for (size_t i = 0; i < result.size(); ++i)
    if (!result[i].defined() && !allow_unused)
      throw AutogradError("grad: input " + std::to_string(i) + " was not used to compute the outputs (pass "
                          "allow_unused=true to get an undefined gradient for it)");
  return result;
}

int register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(Tensor&)> hook) {
  KILN_CHECK(leaf.is_leaf() && leaf.requires_grad(), "post-accumulate-grad hooks need a leaf that requires grad");
  AutogradMeta& m = meta(leaf);
  int id = m.next_hook_id++;
  m.post_accumulate_hooks.emplace_back(id, std::move(hook));
  return id;
}
}  // namespace kiln::autograd
