// Value checks: the front end and the CPU loop.
#include "ops/check/value_check.h"

#include "kiln/autograd/autograd.h"
#include "ops/op_stream.h"

namespace kiln::ops {
KILN_DEFINE_DISPATCH(value_check_stub);

void check_values(const Tensor& values, const ValueRule& rule, const CheckFailure& failure) {
  if (values.numel() == 0) return;
  NoGradGuard no_grad;
  const Tensor v = values.contiguous();
  value_check_stub(v.device().type(), v, rule, failure, op_stream(v.device()));
}

namespace {
Tensor value_check_cpu(const Tensor& values, const ValueRule& rule, const CheckFailure& failure, cuda::Stream) {
  KILN_DISPATCH_ALL(values.dtype(), "value check", [&] {
    const scalar_t* p = values.data_ptr<scalar_t>();
    for (int64_t i = 0, n = values.numel(); i < n; ++i) {
      if (rule.accepts(p[i])) continue;
      if constexpr (std::is_integral<scalar_t>::value)
        throw_check_failure(failure.with_value(i, static_cast<int64_t>(p[i])));
      else
        throw_check_failure(failure.with_value(i, static_cast<double>(static_cast<opmath_t<scalar_t>>(p[i]))));
    }
  });
  return Tensor();
}
}  // namespace
KILN_REGISTER_KERNEL(value_check_stub, kCPU, value_check_cpu);
}  // namespace kiln::ops
