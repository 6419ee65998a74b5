// Division with rounding (torch.div's "trunc" and "floor" modes, floor_divide, div_ with a mode) and C-style
// fmod, with torch's dtypes (integers stay integers), zero-divisor checks and gradients.
#include <string>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "ops/check/value_check.h"
#include "ops/pointwise/inplace_common.h"

namespace kiln {
using autograd::SavedTensor;
using autograd::TensorList;
using ops::BinaryOp;
using ops::InputMeta;
using ops::reduce_grad;

namespace {
// The kernel of a rounding mode; nullopt is true division (the caller's plain div).
std::optional<BinaryOp> rounding_op(const char* op, std::optional<std::string_view> mode) {
  if (!mode) return std::nullopt;
  if (*mode == "trunc") return BinaryOp::DivTrunc;
  if (*mode == "floor") return BinaryOp::DivFloor;
  throw ValueError(std::string(op) + ": expected rounding_mode to be one of None (std::nullopt), \"trunc\" or " +
                   "\"floor\", but found \"" + std::string(*mode) + "\"");
}

// One check for every device before any kernel runs, as remainder's: the CPU throws here, CUDA at its next wait.
void check_integer_divisor(const char* op, const Tensor& b, DType rt) {
  if (is_floating_point(rt)) return;
  ops::CheckFailure failure;
  failure.kind = ops::CheckKind::ZeroDivisor;
  failure.op = op;
  failure.arg0 = static_cast<int64_t>(rt);
  ops::check_values(b, ops::ValueRule::non_zero(), failure);
}
void check_integer_divisor(const char* op, const Scalar& b, DType rt) {
  KILN_CHECK(is_floating_point(rt) || b.to_long() != 0, "ZeroDivisionError: ", op, " of an integer tensor by zero (",
             dtype_name(rt), ")");
}

void check_rounding_dtype(const char* op, DType rt) {
  ops::check_not_bool(op, rt, "Convert the operands to an integer or floating dtype first.");
}

// Rounded quotients are piecewise constant: both gradients are zero (torch's DivBackward2).
TensorList zero_grads(const InputMeta& ma, const InputMeta& mb, const Tensor& g, const std::vector<bool>& need) {
  TensorList r(need.size());
  r[0] = need[0] ? zeros(ma.shape, TensorOptions(ma.dtype).device(g.device())) : Tensor();
  if (need.size() > 1 && need[1]) r[1] = zeros(mb.shape, TensorOptions(mb.dtype).device(g.device()));
  return r;
}
}  // namespace

Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode) {
  std::optional<BinaryOp> op = rounding_op("div", rounding_mode);
  if (!op) return div(a, b);
  DType rt = result_type(a, b);
  check_rounding_dtype("div", rt);
  check_integer_divisor("div", b, rt);
  Tensor out = ops::binary_raw("div", *op, a, b, rt);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("DivBackward2", out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b)](const TensorList& g, const std::vector<bool>& need) {
                       return zero_grads(ma, mb, g[0], need);
                     });
  return out;
}

Tensor div(const Tensor& a, const Scalar& b, std::optional<std::string_view> rounding_mode) {
  std::optional<BinaryOp> op = rounding_op("div", rounding_mode);
  if (!op) return div(a, b);
  DType rt = result_type(a, b);
  check_rounding_dtype("div", rt);
  check_integer_divisor("div", b, rt);
  Tensor out = ops::binary_scalar_raw("div", *op, a, b, rt);
  if (autograd::needs_grad({&a}))
    autograd::record("DivBackward3", out, {a}, [ma = InputMeta(a)](const TensorList& g, const std::vector<bool>& need) {
      return zero_grads(ma, ma, g[0], need);
    });
  return out;
}

Tensor floor_divide(const Tensor& a, const Tensor& b) { return div(a, b, "floor"); }
Tensor floor_divide(const Tensor& a, const Scalar& b) { return div(a, b, "floor"); }

const Tensor& div_(const Tensor& self, const Tensor& b, std::optional<std::string_view> rounding_mode) {
  std::optional<BinaryOp> op = rounding_op("div_", rounding_mode);
  if (!op) return div_(self, b);
  DType rt = result_type(self, b);
  check_rounding_dtype("div_", rt);
  bool track = ops::begin_inplace("div_", self, {&b}, ops::broadcast_shape("div_", self.sizes(), b.sizes()), rt);
  check_integer_divisor("div_", b, rt);
  InputMeta ms(self), mb(b);
  ops::binary_inplace("div_", self, b, *op, rt, 1);
  if (track)
    autograd::record("DivBackward2", self, {self, b}, [ms, mb](const TensorList& g, const std::vector<bool>& need) {
      return zero_grads(ms, mb, g[0], need);
    });
  return self;
}

const Tensor& div_(const Tensor& self, const Scalar& b, std::optional<std::string_view> rounding_mode) {
  std::optional<BinaryOp> op = rounding_op("div_", rounding_mode);
  if (!op) return div_(self, b);
  DType rt = result_type(self, b);
  check_rounding_dtype("div_", rt);
  check_integer_divisor("div_", b, rt);
  bool track = ops::begin_inplace("div_", self, {}, self.sizes(), rt);
  InputMeta ms(self);
  ops::binary_scalar_inplace("div_", self, b, *op, rt, 1, false);
  if (track)
    autograd::record("DivBackward3", self, {self}, [ms](const TensorList& g, const std::vector<bool>& need) {
      return zero_grads(ms, ms, g[0], need);
    });
  return self;
}

Tensor fmod(const Tensor& a, const Tensor& b) {
  DType rt = result_type(a, b);
  ops::check_not_bool("fmod", rt, "Convert the operands to an integer or floating dtype first.");
  check_integer_divisor("fmod", b, rt);
  Tensor out = ops::binary_raw("fmod", BinaryOp::Fmod, a, b, rt);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("FmodBackward1", out, {a, b},
                     [ma = InputMeta(a), mb = InputMeta(b), sa = SavedTensor(a), sb = SavedTensor(b)](
                         const TensorList& g, const std::vector<bool>& need) {
                       TensorList r(2);
                       if (need[0]) r[0] = reduce_grad(g[0], ma.shape, ma.dtype);
                       // fmod(a, b) = a - b * trunc(a / b)
                       if (need[1])
                         r[1] = reduce_grad(neg(mul(g[0], div(sa.get(), sb.get(), "trunc"))), mb.shape, mb.dtype);
                       return r;
                     });
  return out;
}

Tensor fmod(const Tensor& a, const Scalar& b) {
  DType rt = result_type(a, b);
  ops::check_not_bool("fmod", rt, "Convert the operands to an integer or floating dtype first.");
  check_integer_divisor("fmod", b, rt);
  Tensor out = ops::binary_scalar_raw("fmod", BinaryOp::Fmod, a, b, rt);
  if (autograd::needs_grad({&a}))
    autograd::record("FmodBackward0", out, {a}, [ma = InputMeta(a)](const TensorList& g, const std::vector<bool>&) {
      return TensorList{reduce_grad(g[0], ma.shape, ma.dtype)};
    });
  return out;
}
}  // namespace kiln
