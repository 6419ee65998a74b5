// Gradients of the op table's generic binary ops (one function per Generic row of KILN_FORALL_BINARY_OPS).
#include "kiln/tensor/ops/pointwise.h"
#include "ops/pointwise/binary_grads.h"

namespace kiln::ops {

namespace {
// maximum/minimum: the winner gets the gradient, ties split it evenly (torch's rule). `a_lost` marks where
// a is not the result (a < b for maximum), `b_lost` where b is not.
std::pair<Tensor, Tensor> extremum_backward(const Tensor& g, const Tensor& a, const Tensor& b, const Tensor& a_lost,
                                            const Tensor& b_lost, const std::vector<bool>& need) {
  Tensor shared = where(eq(a, b), div(g, 2), g);
  return {need[0] ? masked_fill(shared, a_lost, 0) : Tensor(), need[1] ? masked_fill(shared, b_lost, 0) : Tensor()};
}
}  // namespace

std::pair<Tensor, Tensor> maximum_backward(const Tensor& g, const Tensor& a, const Tensor& b, const Tensor&,
                                           const std::vector<bool>& need) {
  return extremum_backward(g, a, b, lt(a, b), gt(a, b), need);
}

std::pair<Tensor, Tensor> minimum_backward(const Tensor& g, const Tensor& a, const Tensor& b, const Tensor&,
                                           const std::vector<bool>& need) {
  return extremum_backward(g, a, b, gt(a, b), lt(a, b), need);
}
// d/da atan2(a, b) = b / (a^2 + b^2), d/db = -a / (a^2 + b^2).
std::pair<Tensor, Tensor> atan2_backward(const Tensor& g, const Tensor& a, const Tensor& b, const Tensor&,
                                         const std::vector<bool>& need) {
  Tensor scale = div(g, add(square(a), square(b)));
  return {need[0] ? mul(scale, b) : Tensor(), need[1] ? neg(mul(scale, a)) : Tensor()};
}
}  // namespace kiln::ops
