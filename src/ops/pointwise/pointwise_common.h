// Front-end helpers shared by the pointwise op files: promotion state, broadcasting, casts, in-place
// checks, kernel launches and gradient reduction. Internal (not installed).
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/pointwise/pointwise_kernels.h"

namespace kiln::ops {

/// torch.can_cast: floating -> integral and anything but bool -> bool are refused.
bool can_cast(DType from, DType to);

/// torch.result_type over any mix of tensors and scalars: dimensioned tensors promote; 0-dim tensors,
/// then Scalars, count only when they raise the category (bool < integer < floating).
class ResultType {
 public:
  ResultType& add(const Tensor& t);
  ResultType& add(const Scalar& s);
  DType get() const;

 private:
  std::optional<DType> dim_, zero_, wrapped_;  // empty: nothing seen at that priority
};

/// The shape a and b broadcast to; ShapeError naming the op and both shapes otherwise.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);
/// The dtype an op that needs floating math computes in: integers and bool become float32.
inline DType floating_compute(DType t) { return is_floating_point(t) ? t : default_float_dtype(); }

/// t converted to dtype for a kernel, without recording autograd (the caller records the op itself).
Tensor cast_for_kernel(const Tensor& t, DType dtype);
/// An input that partially overlaps the in-place output would be read after being written: copy it.
Tensor unalias_input(const Tensor& self, const Tensor& input);
/// PyTorch's in-place rules: the broadcast result must have self's shape and a dtype castable to self's.
void check_inplace_result(const char* op, const Tensor& self, const Shape& result_shape, DType result_dtype);
/// -s, keeping the Scalar's kind.
Scalar negate(const Scalar& s);
inline bool is_one(const Scalar& s) { return s.to_double() == 1.0; }
/// torch's alpha_check: a floating alpha cannot scale integers; a bool alpha needs a bool result.
void check_alpha(const char* op, DType t, const Scalar& alpha);
/// torch refuses subtraction on bool: it almost always means a mask that should be inverted instead.
void check_sub_dtypes(const char* op, DType a, DType b);
/// Refuses bool where torch does (sub, neg) with torch's advice.
void check_not_bool(const char* op, DType t, const char* advice);

/// out = op(a, b) in `compute` (out has `compute` dtype), with a fresh broadcast output. No autograd.
Tensor binary_raw(const char* name, BinaryOp op, const Tensor& a, const Tensor& b, DType compute,
                  const Scalar& alpha = 1);
/// out = op(a, s) (or op(s, a) when scalar_first) in `compute`. No autograd.
Tensor binary_scalar_raw(const char* name, BinaryOp op, const Tensor& a, const Scalar& s, DType compute,
                         const Scalar& alpha = 1, bool scalar_first = false);
/// out = op(a) with a's dtype (a already in the compute dtype). No autograd.
Tensor unary_raw(UnaryOp op, const Tensor& a, double p0 = 0, double p1 = 0);
/// out = op(g, v) for the fused derivatives; g and v share a shape and a floating dtype. No autograd.
Tensor unary_backward_raw(UnaryBackwardOp op, const Tensor& g, const Tensor& v, double p0 = 0, double p1 = 0);
/// Runs launch(iter) writing into self in place; inputs must already be in self's dtype and device.
/// An input overlapping self other than exactly is copied first.
void run_inplace(const char* name, const Tensor& self, const std::vector<Tensor>& inputs,
                 const std::function<void(const ElementwiseIter&)>& launch);

/// Gradient g reduced to an input's shape (sum over broadcast dims) and converted to its dtype.
Tensor reduce_grad(const Tensor& g, const Shape& shape, DType dtype);

/// An op's own output saved for its backward. SavedTensor(out, true) alone is a graph-less alias, so a
/// formula on it would be a constant under create_graph and double backward would silently miss the path
/// through the output. When unpacked in grad mode this reattaches the alias to the op's node (held weakly:
/// no cycle), as torch's SavedVariable does. Call set_node(out.grad_fn()) after recording.
class SavedOutput {
 public:
  SavedOutput() = default;
  explicit SavedOutput(const Tensor& out)
      : saved_(out, true), node_(std::make_shared<std::weak_ptr<autograd::Node>>()), output_nr_(0) {}
  void set_node(const std::shared_ptr<autograd::Node>& node) const {
    if (node_) *node_ = node;
  }
  Tensor get() const;
  bool defined() const { return saved_.defined(); }

 private:
  autograd::SavedTensor saved_;
  std::shared_ptr<std::weak_ptr<autograd::Node>> node_;  // shared with the closure's copy
  uint32_t output_nr_ = 0;
};

/// Records the node of a one-input op whose gradient is backward(g, x, y) (x the input, y the output; each is
/// saved only when asked, and passed undefined otherwise). Returns out.
Tensor with_grad(const char* node, const Tensor& a, const Tensor& out, bool save_input, bool save_output,
                 std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)> backward);

/// What a backward closure needs of an input besides its value: shape and dtype.
struct InputMeta {
  Shape shape;
  DType dtype;
  explicit InputMeta(const Tensor& t) : shape(t.sizes()), dtype(t.dtype()) {}
};
}  // namespace kiln::ops
