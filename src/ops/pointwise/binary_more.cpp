// Arithmetic front end, part two: pow (three forms) and Python-style remainder, with gradients.
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "ops/autocast/autocast_inputs.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/check/value_check.h"
#include "ops/pointwise/pointwise_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::BinaryOp;
using ops::InputMeta;
using ops::reduce_grad;

Tensor pow(const Tensor& a, const Tensor& e) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a, &e}}) return pow(c[0], c[1]);
  Tensor out = ops::binary_raw("pow", BinaryOp::Pow, a, e, result_type(a, e));
  if (autograd::needs_grad({&a, &e})) {
    ops::SavedOutput so(out);
    autograd::record(
        "PowBackward1", out, {a, e},
        [ma = InputMeta(a), me = InputMeta(e), sa = SavedTensor(a), se = SavedTensor(e), so](
            const TensorList& g, const std::vector<bool>& need) {
          TensorList r(2);
          Tensor av = sa.get(), ev = se.get();
          // d/da = e * a^(e-1), defined as 0 where e == 0 (so 0^0 has no NaN gradient), as torch.
          if (need[0])
            r[0] = reduce_grad(masked_fill(mul(g[0], mul(ev, pow(av, sub(ev, 1)))), eq(ev, 0), 0), ma.shape, ma.dtype);
          // d/de = a^e * log(a), defined as 0 where a == 0 and e >= 0.
          if (need[1])
            r[1] = reduce_grad(mul(g[0], masked_fill(mul(so.get(), log(av)), logical_and(eq(av, 0), ge(ev, 0)), 0)),
                               me.shape, me.dtype);
          return r;
        });
    so.set_node(out.grad_fn());
  }
  return out;
}

Tensor pow(const Tensor& a, const Scalar& e) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&a}}) return pow(c[0], e);
  DType rt = result_type(a, e);
  KILN_CHECK(is_floating_point(rt) || e.to_double() >= 0, "pow: integers to negative integer powers are not allowed (",
             dtype_name(a.dtype()), " tensor ** ", e, "); convert the tensor to a floating dtype first");
  Tensor out = ops::binary_scalar_raw("pow", BinaryOp::Pow, a, e, rt);
  if (autograd::needs_grad({&a})) {
    autograd::record("PowBackward0", out, {a},
                     [ma = InputMeta(a), sa = SavedTensor(a), e](const TensorList& g, const std::vector<bool>&) {
                       if (e.to_double() == 0.0)
                         return TensorList{zeros(ma.shape, TensorOptions(ma.dtype).device(g[0].device()))};
                       double em1 = e.to_double() - 1.0;
                       Tensor d = em1 == 0.0 ? g[0] : mul(g[0], pow(sa.get(), Scalar(em1)));
                       return TensorList{reduce_grad(mul(d, e), ma.shape, ma.dtype)};
                     });
  }
  return out;
}

Tensor pow(const Scalar& a, const Tensor& e) {
  if (amp::detail::AutocastInputs c{AutocastCategory::Float32OnCuda, {&e}}) return pow(a, c[0]);
  DType rt = result_type(e, a);
  Tensor out = ops::binary_scalar_raw("pow", BinaryOp::Pow, e, a, rt, 1, /*scalar_first=*/true);
  if (autograd::needs_grad({&e})) {
    ops::SavedOutput so(out);
    autograd::record("PowBackward2", out, {e},
                     [me = InputMeta(e), se = SavedTensor(e), so, a](const TensorList& g, const std::vector<bool>&) {
                       double base = a.to_double();
                       Tensor d = mul(g[0], mul(so.get(), Scalar(std::log(base))));
                       if (base == 0.0) d = masked_fill(d, ge(se.get(), 0), 0);  // 0^e has gradient 0 for e >= 0
                       return TensorList{reduce_grad(d, me.shape, me.dtype)};
                     });
    so.set_node(out.grad_fn());
  }
  return out;
}

Tensor remainder(const Tensor& a, const Tensor& b) {
  const DType rt = result_type(a, b);
  if (!is_floating_point(rt)) {
    // One check for every device, before any kernel runs, so the CPU and CUDA behave the same: the CPU throws
    // here; CUDA raises it at the next host wait (ops/check/value_check.h).
    ops::CheckFailure failure;
    failure.kind = ops::CheckKind::ZeroDivisor;
    failure.op = "remainder";
    failure.arg0 = static_cast<int64_t>(rt);
    ops::check_values(b, ops::ValueRule::non_zero(), failure);
  }
  Tensor out = ops::binary_raw("remainder", BinaryOp::Remainder, a, b, rt);
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("RemainderBackward0", out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b), sa = SavedTensor(a), sb = SavedTensor(b)](
                         const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = reduce_grad(g[0], ma.shape, ma.dtype);
                       // a % b = a - b * floor(a / b)
                       if (need[1])
                         r[1] = reduce_grad(neg(mul(g[0], floor(div(sa.get(), sb.get())))), mb.shape, mb.dtype);
                       return r;
                     });
  }
  return out;
}

Tensor remainder(const Tensor& a, const Scalar& b) {
  DType rt = result_type(a, b);
  KILN_CHECK(is_floating_point(rt) || b.to_long() != 0, "ZeroDivisionError: remainder of an integer tensor by zero (",
             dtype_name(rt), ")");
  Tensor out = ops::binary_scalar_raw("remainder", BinaryOp::Remainder, a, b, rt);
  if (autograd::needs_grad({&a})) {
    autograd::record("RemainderBackward1", out, {a},
                     [ma = InputMeta(a)](const TensorList& g, const std::vector<bool>&) {
                       return TensorList{reduce_grad(g[0], ma.shape, ma.dtype)};
                     });
  }
  return out;
}

}  // namespace kiln
