// Autograd graph: nodes hold a backward closure and edges to the nodes of their inputs.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/tensor/tensor.h"

namespace kiln::autograd {

using TensorList = std::vector<Tensor>;
struct Node;

/// Points at input `input_nr` of `node`: where a gradient flows next.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

/// Computes the gradients of a node's inputs from the gradients of its outputs.
/// needs_input_grad[i] says whether input i wants a gradient; return an undefined Tensor where not.
using BackwardFn = std::function<TensorList(const TensorList& grad_outputs, const std::vector<bool>& needs_input_grad)>;

/// Runs on a gradient as it becomes ready; may return a replacement (or undefined to keep it).
using GradHook = std::function<Tensor(const Tensor&)>;

struct Node {
  BackwardFn backward;
  std::vector<Edge> next_edges;              // one per differentiable input
  std::vector<Shape> output_shapes;          // to materialise zero gradients for unused outputs
  std::vector<DType> output_dtypes;
  std::vector<Device> output_devices;
  uint64_t sequence_nr = 0;                  // creation order: later nodes run first on ties
  bool released = false;                     // set after backward without retain_graph
  /// Hooks on the gradient of forward output i (register_hook / retain_grad on a non-leaf).
  std::vector<std::pair<uint32_t, GradHook>> pre_hooks;

  Node(std::string n, BackwardFn fn) : backward(std::move(fn)), name_(std::move(n)) {}
  virtual ~Node() = default;
  /// PyTorch's name of the node, e.g. "SumBackward0" (libtorch's `y.grad_fn()->name()`).
  const std::string& name() const { return name_; }
  size_t num_outputs() const { return output_shapes.size(); }

 private:
  std::string name_;
};

/// The node a leaf tensor's gradient lands in; it accumulates into .grad and runs post-accumulate hooks.
struct AccumulateGrad : Node {
  std::weak_ptr<TensorImpl> variable;
  AccumulateGrad() : Node("AccumulateGrad", nullptr) {}
};

/// How a view was made; decides whether an in-place write may rebase its base's history (PyTorch's CreationMeta).
enum class ViewCreation {
  Default,      // made in grad mode by a single-output view op: in-place writes rebase the base
  NoGrad,       // made in no-grad mode: writes in grad mode are refused (ambiguous which history they join)
  MultiOutput,  // a piece of split/chunk: writes are refused (one node owns every piece's gradient)
};

/// What a view of a floating tensor remembers (PyTorch's view meta). Its geometry is the view's own sizes,
/// strides and storage offset, which locate it inside `base`'s storage, so its history can be replayed on the
/// base's (see src/autograd/views.h).
struct ViewInfo {
  Tensor base;            // the root base: never itself a view
  ViewCreation creation = ViewCreation::Default;
  uint32_t version = 0;   // the storage version at which the view's grad_fn was last made
};

/// Per-tensor autograd state (lives in TensorImpl::autograd).
struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;             // null for leaves
  uint32_t output_nr = 0;
  std::weak_ptr<AccumulateGrad> grad_accumulator;
  std::vector<std::pair<int, GradHook>> hooks;
  std::vector<std::pair<int, std::function<void(Tensor&)>>> post_accumulate_hooks;
  int next_hook_id = 0;
  /// Set for a view made by a view op from a floating tensor; null otherwise.
  std::unique_ptr<ViewInfo> view;
};

/// A tensor saved for backward with the version it had, so a later in-place change is caught.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// is_output: the tensor is an output of the node saving it (saved without its graph to avoid a cycle).
  /// Otherwise a leaf that requires grad is kept itself, and anything else as an alias carrying the history
  /// (grad_fn) it has now, never the live tensor's autograd state, which an in-place write may later rebase.
  explicit SavedTensor(const Tensor& t, bool is_output = false);
  /// The saved tensor; throws AutogradError if it was modified in place since it was saved.
  Tensor get() const;
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint32_t version_ = 0;
};

// ---- grad mode ----
bool grad_mode_enabled();
void set_grad_mode(bool enabled);

/// True when grad mode is on and any of the tensors requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

/// Connects outputs to a new node whose backward computes the inputs' gradients. Call only when
/// needs_grad(inputs). Outputs become non-leaf tensors requiring grad. An output that is also an input was
/// written in place: when it is a view, its base's history is rebased onto the node (CopySlices).
std::shared_ptr<Node> record(const char* name, const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                             BackwardFn backward);
/// Single-output shorthand; returns out for chaining.
Tensor record(const char* name, const Tensor& out, const std::vector<Tensor>& inputs, BackwardFn backward);

/// The edge a gradient for t should flow into (its grad_fn or its leaf accumulator); invalid if none. For a
/// view whose base was modified in place since, its grad_fn is first remade from the base's (see views.h).
Edge gradient_edge(const Tensor& t);
AutogradMeta& meta(const Tensor& t);
AutogradMeta* meta_if_exists(const Tensor& t);
/// Checks that an in-place write to t is allowed by autograd and bumps its version. inputs_require_grad: the
/// op will be recorded (grad mode is on and some input requires grad), which a view's checks depend on.
void check_inplace(const Tensor& t, const char* op, bool inputs_require_grad);
}  // namespace kiln::autograd
