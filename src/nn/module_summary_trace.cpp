// nn::summary with an input shape: one traced forward that records each module's output shape.
#include <unordered_map>

#include "kiln/autograd/autograd.h"
#include "kiln/nn/module.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::nn {
namespace {
using ShapeTrace = std::unordered_map<const Module*, std::vector<Shape>>;
// The trace being recorded on this thread; null outside summary(m, shape, forward), so the hook in every
// container's forward costs one load then.
thread_local ShapeTrace* active_trace = nullptr;

// Restores the trace pointer and every module's training flag, also when forward throws.
class TraceScope {
 public:
  TraceScope(Module& root, ShapeTrace& trace) : root_(root), previous_(active_trace) {
    root_training_ = root.is_training();
    for (const auto& kv : root.named_modules(/*include_self=*/false)) modes_.emplace_back(kv.second, kv.second->is_training());
    active_trace = &trace;
    root.eval();  // batch statistics and running-stat updates stay out of a summary
  }
  ~TraceScope() {
    active_trace = previous_;
    // Parent first: train(flag) sets the whole subtree, so each later (deeper) module's own flag wins.
    root_.train(root_training_);
    for (const auto& [m, on] : modes_) m->train(on);
  }
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  Module& root_;
  ShapeTrace* previous_;
  bool root_training_ = true;
  std::vector<std::pair<std::shared_ptr<Module>, bool>> modes_;
};
}  // namespace

namespace detail {
void note_output_shape(const Module& m, const Tensor& y) {
  if (active_trace != nullptr && y.defined()) (*active_trace)[&m].push_back(y.sizes());
}
}  // namespace detail

ModuleSummary summary(Module& m, const Shape& input_shape, const std::function<Tensor(const Tensor&)>& forward) {
  KILN_CHECK(!input_shape.empty(), "summary: input_shape must include the batch dim, e.g. {1, 1, 28, 28}");
  for (int64_t s : input_shape)
    KILN_CHECK(s > 0, "summary: input_shape must be positive, got ", shape_to_string(input_shape));
  KILN_CHECK(static_cast<bool>(forward), "summary: forward is empty");
  // The input follows the model: its first floating parameter or buffer sets device and dtype.
  TensorOptions opts;
  for (const Tensor& t : m.parameters()) {
    opts = TensorOptions().dtype(t.dtype()).device(t.device());
    break;
  }
  ShapeTrace trace;
  {
    TraceScope scope(m, trace);
    NoGradGuard no_grad;
    Tensor y = forward(zeros(input_shape, opts));
    detail::note_output_shape(m, y);
  }
  ModuleSummary s = summary(static_cast<const Module&>(m));
  s.input_shape = input_shape;
  // Rows follow named_modules() order, so the paths give each row its module.
  std::unordered_map<std::string, const Module*> by_path;
  by_path[""] = &m;
  for (const auto& kv : m.named_modules(/*include_self=*/false)) by_path[kv.first] = kv.second.get();
  for (auto& row : s.rows) {
    auto it = by_path.find(row.name);
    if (it == by_path.end()) continue;
    auto shapes = trace.find(it->second);
    if (shapes != trace.end()) row.output_shapes = shapes->second;
  }
  return s;
}
}  // namespace kiln::nn
