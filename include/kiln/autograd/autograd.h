// The public autograd API: backward, grad, no_grad scopes, hooks and gradcheck.
#pragma once
#include <functional>
#include <vector>

#include "kiln/autograd/node.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

/// Disables gradient recording for its scope, like `with torch.no_grad()`.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Sets grad mode for its scope, like torch.set_grad_enabled(mode).
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled);
  ~AutoGradMode();
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

inline bool is_grad_enabled() { return autograd::grad_mode_enabled(); }
inline void set_grad_enabled(bool enabled) { autograd::set_grad_mode(enabled); }

namespace autograd {
/// Runs backward from roots (each with its gradient; undefined means ones for a scalar root) and
/// accumulates into the .grad of the leaves. Frees the graph unless retain_graph.
void backward(const TensorList& roots, const TensorList& grad_roots = {}, bool retain_graph = false,
              bool create_graph = false);
/// Gradients of outputs with respect to inputs, returned instead of accumulated (torch.autograd.grad).
/// allow_unused: an input the outputs do not depend on gets an undefined Tensor instead of an error.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                bool retain_graph = false, bool create_graph = false, bool allow_unused = false);

/// Registers a hook that runs after a leaf's gradient has been accumulated into .grad, as
/// torch's register_post_accumulate_grad_hook (what gradient bucketing for DDP hangs on).
int register_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(Tensor&)> hook);

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};
/// Compares the analytic gradient of sum(fn(inputs) * random weights) with central finite differences
/// in float64. Inputs must be float64 and require grad. Returns true or throws AutogradError naming the
/// input, element and both values.
bool gradcheck(const std::function<Tensor(const TensorList&)>& fn, const TensorList& inputs,
               const GradcheckOptions& opts = {});
}  // namespace autograd
}  // namespace kiln
