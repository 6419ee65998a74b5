// Messages of failed value checks, shared by the immediate CPU checks and the deferred CUDA ones.
#include "ops/check/check_failure.h"

#include "kiln/core/dtype.h"
#include "kiln/core/error.h"

namespace kiln::ops {

std::string describe_check_failure(const CheckFailure& f) {
  using ::kiln::detail::str;
  switch (f.kind) {
    case CheckKind::IndexOutOfBounds:
      return str(f.op, ": index ", f.int_value, " is out of bounds for dimension ", f.arg0, " with size ", f.arg1);
    case CheckKind::ClassIndex:
      return str(f.op, ": class index ", f.int_value, " is out of range for num_classes ", f.arg0, " (valid: 0 to ",
                 f.arg0 - 1, ")");
    case CheckKind::ClassTarget:
      return str(f.op, ": target ", f.int_value, " is out of bounds: class indices must be in [0, ", f.arg0,
                 ") for input with ", f.arg0, " classes (or equal ignore_index=", f.arg1, ")");
    case CheckKind::Probability:
      return str(f.op, ": all elements of input should be between 0 and 1, but element ", f.position, " is ",
                 f.float_value, "; apply sigmoid first, or use binary_cross_entropy_with_logits on the raw scores");
    case CheckKind::ZeroDivisor:
      return str("ZeroDivisionError: ", f.op, " of an integer tensor by zero (",
                 dtype_name(static_cast<DType>(f.arg0)), "): the divisor's element ", f.position, " is zero");
  }
  return str(f.op, ": a value check failed");
}

void throw_check_failure(const CheckFailure& f, int deferred_on) {
  std::string msg = describe_check_failure(f);
  if (deferred_on >= 0)
    msg += ::kiln::detail::str(
        " [found on cuda:", deferred_on, " by the device-side check of an op queued before this synchronisation; ",
        "that op's results are invalid. Set CUDA_LAUNCH_BLOCKING=1 to have it raised by the op itself]");
  switch (f.kind) {
    case CheckKind::IndexOutOfBounds:
    case CheckKind::ClassIndex:
    case CheckKind::ClassTarget: throw IndexError(msg);
    case CheckKind::Probability:
    case CheckKind::ZeroDivisor: break;
  }
  throw ValueError(msg);
}
}  // namespace kiln::ops
