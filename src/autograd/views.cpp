// Views and in-place ops in autograd, as PyTorch does them: a view remembers its root base; an in-place write
// to a view rebases the base's history (CopySlices); a view's history is replayed lazily from its base's.
#include "autograd/views.h"

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/view/as_strided.h"

namespace kiln::autograd {
namespace {
// Which view a message is about, as PyTorch names it.
std::string which_view(const AutogradMeta& m) {
  if (m.grad_fn) return "output " + std::to_string(m.output_nr) + " of " + m.grad_fn->name() + " is a view and";
  return "a view";
}

const char* const kMultiOutputAdvice =
    ". This view is an output of a function that returns multiple views (split, chunk). Such functions do not "
    "allow the output views to be modified in place (one node owns all their gradients): replace the in-place "
    "operation by an out-of-place one, or clone() the piece first.";

// The view's grad_fn becomes the replay of its region of the base's current history.
void remake_grad_fn(const Tensor& view, ViewInfo& vi) {
  KILN_CHECK_T(NotImplemented, !ops::has_stride0_overlap(vi.base), "autograd cannot replay a view of a tensor "
               "whose elements share memory (stride 0, shape ", vi.base.shape_str(), ") after an in-place write; "
               "clone() the base before viewing it");
  ops::ViewGeometry geo(vi.base, view);
  record("AsStridedBackward0", view, {vi.base}, [geo](const TensorList& g, const std::vector<bool>&) {
    return TensorList{ops::as_strided_backward(g[0], geo)};
  });
  vi.version = view._version();
}
}  // namespace

void track_view(const Tensor& base, const Tensor& view, bool multi_output) {
  if (!view.is_floating_point()) return;
  const AutogradMeta* bm = meta_if_exists(base);
  const ViewInfo* parent = bm ? bm->view.get() : nullptr;
  auto vi = std::make_unique<ViewInfo>();
  vi->base = parent ? parent->base : base;
  vi->creation = !grad_mode_enabled() ? ViewCreation::NoGrad
                 : multi_output       ? ViewCreation::MultiOutput
                                      : ViewCreation::Default;
  // A view of a view that cannot be rebased cannot be rebased either (PyTorch's propagate_creation_meta).
  if (parent && vi->creation == ViewCreation::Default) vi->creation = parent->creation;
  vi->version = view._version();
  meta(view).view = std::move(vi);
}

std::shared_ptr<Node> current_grad_fn(const Tensor& t) {
  AutogradMeta* m = meta_if_exists(t);
  if (!m) return nullptr;
  if (!m->view) return m->grad_fn;
  ViewInfo& vi = *m->view;
  const bool stale = vi.version != t._version();
  if (!stale && m->grad_fn) return m->grad_fn;
  // A view made in no-grad mode never joins the graph (kiln's rule: it does not require grad); nor does a view
  // of a base that does not require grad until the base does.
  if (vi.creation == ViewCreation::NoGrad || (!m->grad_fn && !vi.base.requires_grad())) return m->grad_fn;
  if (vi.creation == ViewCreation::MultiOutput) {
    if (!stale) return m->grad_fn;
    throw AutogradError(which_view(*m) + " its base or another view of its base has been modified in place" +
                        kMultiOutputAdvice);
  }
  // Stale, or made before its base came to require grad (requires_grad_() on the base): replay it.
  remake_grad_fn(t, vi);
  return m->grad_fn;
}

void check_view_inplace(const Tensor& t, const AutogradMeta& m, const char* op, bool inputs_require_grad) {
  const ViewInfo& vi = *m.view;
  if (!inputs_require_grad && !m.grad_fn && !vi.base.requires_grad()) return;  // a write autograd does not track
  const std::string o(op);
  if (vi.creation == ViewCreation::NoGrad)
    throw AutogradError(o + ": a view was created in no-grad mode and is being modified in place with grad mode "
                        "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. Move both "
                        "the view and the in-place op inside the no-grad block (if the write should not be tracked) "
                        "or both outside it (if it should).");
  if (vi.creation == ViewCreation::MultiOutput)
    throw AutogradError(o + ": " + which_view(m) + " is being modified in place" + kMultiOutputAdvice);
  if (vi.base.requires_grad() && vi.base.is_leaf())
    throw AutogradError(o + ": a view of a leaf tensor that requires grad is being used in an in-place operation. "
                        "Write into the leaf under kiln::NoGradGuard (as optimizers do), or into a clone() of it.");
  KILN_CHECK(!ops::has_stride0_overlap(t), op, ": more than one element of the written-to view refers to a single "
             "memory location (an expanded tensor of shape ", t.shape_str(), "); call .clone() on it before the "
             "in-place operation");
  KILN_CHECK_T(NotImplemented, !ops::has_stride0_overlap(vi.base), op, ": in-place operation on a view of a tensor "
               "whose elements share memory (stride 0, shape ", vi.base.shape_str(), "); clone() the base first");
}

void rebase_view(const Tensor& view, const std::shared_ptr<Node>& fn) {
  ViewInfo& vi = *meta(view).view;
  const Tensor& base = vi.base;
  ops::ViewGeometry geo(base, view);
  const size_t n = fn->next_edges.size();
  auto copy_slices = std::make_shared<Node>("CopySlices", nullptr);
  copy_slices->sequence_nr = next_sequence_nr();
  // Input 0 is the base's old history (the view's old value is a region of it); the others are fn's.
  copy_slices->next_edges.push_back(gradient_edge(base));
  // fn keeps its own edges: the engine reaches it only through CopySlices, but a saved output of fn (div_'s)
  // differentiated again (create_graph) takes fn as its history, which is the view's old value's.
  for (size_t i = 1; i < n; ++i) copy_slices->next_edges.push_back(fn->next_edges[i]);
  copy_slices->output_shapes.push_back(base.sizes());
  copy_slices->output_dtypes.push_back(base.dtype());
  copy_slices->output_devices.push_back(base.device());
  copy_slices->backward = [fn, geo, n](const TensorList& g, const std::vector<bool>& need) {
    if (!fn->backward)  // released by a backward through a graph that differentiated its saved output
      throw AutogradError("trying to backward through the graph a second time (through an in-place op on a view, " +
                          fn->name() + "); pass retain_graph=true to the first backward() if you need to.");
    // The base's gradient laid out like the base, so that the view's geometry finds its region in it.
    Tensor result = ops::empty_strided(geo.base_sizes, geo.base_strides, g[0].options());
    copy_(result, g[0]);
    Tensor region = grad_mode_enabled() ? ops::as_strided(result, geo.sizes, geo.strides, geo.offset)
                                        : make_view(result, geo.sizes, geo.strides, geo.offset);
    TensorList r = fn->backward({clone(region)}, need);
    TensorList out(n);
    if (need[0]) {  // the region now carries the gradient of the view's value before the write
      if (!r.empty() && r[0].defined()) copy_(region, r[0]);
      else zero_(region);
      out[0] = result;
    }
    for (size_t i = 1; i < n && i < r.size(); ++i) out[i] = r[i];
    return out;
  };
  AutogradMeta& bm = meta(base);
  bm.grad_fn = std::move(copy_slices);
  bm.output_nr = 0;
  bm.requires_grad = false;  // non-leaf now: requires_grad() follows grad_fn
  remake_grad_fn(view, vi);
}
}  // namespace kiln::autograd
