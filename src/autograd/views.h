// Views and in-place ops in autograd: view tracking, CopySlices rebasing, and lazy replay of a view's history.
#pragma once
#include <memory>

#include "kiln/autograd/node.h"

namespace kiln::autograd {

/// Makes `view`, just made by a view op from `base`, remember its root base and how it was made (nothing for
/// non-floating views, which carry no gradient). multi_output: one of several views made by one node (split).
/// Call after recording the view op's node, if any.
void track_view(const Tensor& base, const Tensor& view, bool multi_output = false);

/// t's grad_fn. For a view whose storage was written in place since its grad_fn was made, the grad_fn is first
/// remade as AsStridedBackward of its base's current history (throws AutogradError for a view made in no-grad
/// mode or by split/chunk, whose history cannot be replayed).
std::shared_ptr<Node> current_grad_fn(const Tensor& t);

/// check_inplace's part for a view (m.view set): refuses what PyTorch refuses.
void check_view_inplace(const Tensor& t, const AutogradMeta& m, const char* op, bool inputs_require_grad);

/// After node `fn` recorded an in-place write into `view`: the base's grad_fn becomes CopySlices(base's old
/// history, view geometry, fn), and the view's grad_fn the replay of its region of that.
void rebase_view(const Tensor& view, const std::shared_ptr<Node>& fn);

/// The next node sequence number (creation order).
uint64_t next_sequence_nr();
}  // namespace kiln::autograd
