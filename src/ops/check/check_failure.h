// A failed value check: an index, class target or probability out of range, or a zero divisor. One plain record
// for both devices: the CPU fills it and throws at once; a CUDA kernel fills it in host-mapped memory and the
// host throws it at its next synchronisation (backend/cuda/device_checks.h), so no op waits for the GPU to
// validate its inputs. The message is built here only, so both devices say the same thing.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/core/macros.h"

namespace kiln::ops {

/// What failed; picks the message and the exception type (see describe_check_failure).
enum class CheckKind : int32_t {
  IndexOutOfBounds,   // gather/scatter/index_select/embedding: arg0 = dim, arg1 = size of that dim
  ClassIndex,         // one_hot: arg0 = num_classes
  ClassTarget,        // nll_loss/cross_entropy: arg0 = classes, arg1 = ignore_index
  Probability,        // binary_cross_entropy: the input must lie in [0, 1]
  ZeroDivisor,        // integer remainder: arg0 = the result dtype (as int)
};

struct CheckFailure {
  CheckKind kind = CheckKind::IndexOutOfBounds;
  const char* op = "";   // a string literal: a kernel only copies the pointer back
  int64_t position = 0;  // of the first bad element, in the checked tensor's element order
  int64_t int_value = 0;       // the bad value, for integer checks
  double float_value = 0;      // the bad value, for floating-point checks
  int64_t arg0 = 0, arg1 = 0;  // kind-dependent, see CheckKind

  KILN_HD CheckFailure with_value(int64_t pos, int64_t v) const {
    CheckFailure f = *this;
    f.position = pos;
    f.int_value = v;
    return f;
  }
  KILN_HD CheckFailure with_value(int64_t pos, double v) const {
    CheckFailure f = *this;
    f.position = pos;
    f.float_value = v;
    return f;
  }
};

/// The user's message for a failure (no device information).
std::string describe_check_failure(const CheckFailure& f);
/// Throws the failure's exception (IndexError for indices and targets, ValueError otherwise). `deferred_on`
/// names the GPU whose device-side check found it, and the message then says it belongs to an earlier op.
[[noreturn]] void throw_check_failure(const CheckFailure& f, int deferred_on = -1);
}  // namespace kiln::ops
