// Binary, comparison, selection and ternary kernels written once over a loop policy (CpuLoop or CudaLoop):
// the dtype dispatch and functor choice live here; cpu_*.cpp and cuda_*.cu only instantiate and register.
#pragma once
#include "kiln/core/dtype.h"
#include "ops/pointwise/binary_functors.h"
#include "ops/pointwise/pointwise_kernels.h"

namespace kiln::ops {

[[noreturn]] inline void bad_pointwise_op(const char* stub) {
  throw Error(std::string("internal error: unexpected op code passed to ") + stub);
}

template <typename Loop>
void binary_kernel(const ElementwiseIter& it, BinaryOp op, const Scalar& alpha) {
  DType dt = it.dtypes[0];
  switch (op) {
    case BinaryOp::Add:
      return KILN_DISPATCH_ALL(dt, "add", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t, scalar_t>(it, AddFn<T>{alpha.to<T>()});
      });
    case BinaryOp::Mul:
      return KILN_DISPATCH_ALL(
          dt, "mul", [&] { Loop::template run<scalar_t, scalar_t, scalar_t>(it, MulFn<opmath_t<scalar_t>>{}); });
    case BinaryOp::Div:
      return KILN_DISPATCH_FLOATING(
          dt, "div", [&] { Loop::template run<scalar_t, scalar_t, scalar_t>(it, DivFn<opmath_t<scalar_t>>{}); });
    case BinaryOp::Pow:
      return KILN_DISPATCH_NUMERIC(
          dt, "pow", [&] { Loop::template run<scalar_t, scalar_t, scalar_t>(it, PowFn<opmath_t<scalar_t>>{}); });
    case BinaryOp::Remainder:
      return KILN_DISPATCH_NUMERIC(dt, "remainder", [&] {
        int zero_divisor = 0;
        Loop::template run<scalar_t, scalar_t, scalar_t>(
            it, RemainderFn<opmath_t<scalar_t>>{Loop::kHost ? &zero_divisor : nullptr});
        if (zero_divisor) throw ValueError("ZeroDivisionError: remainder of an integer tensor by zero");
      });
    case BinaryOp::Maximum:
      return KILN_DISPATCH_ALL(dt, "maximum", [&] {
        Loop::template run<scalar_t, scalar_t, scalar_t>(it, MaximumFn<opmath_t<scalar_t>>{});
      });
    case BinaryOp::Minimum:
      return KILN_DISPATCH_ALL(dt, "minimum", [&] {
        Loop::template run<scalar_t, scalar_t, scalar_t>(it, MinimumFn<opmath_t<scalar_t>>{});
      });
  }
  bad_pointwise_op("binary_stub");
}

template <typename Loop>
void binary_scalar_kernel(const ElementwiseIter& it, BinaryOp op, const Scalar& s, const Scalar& alpha,
                          bool scalar_first) {
  DType dt = it.dtypes[0];
  switch (op) {
    case BinaryOp::Add:  // s + alpha*a covers a + s (alpha 1), a - s (s negated) and s - a (alpha -1)
      return KILN_DISPATCH_ALL(dt, "add", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t>(it, ScalarLhs<AddFn<T>, T>{AddFn<T>{alpha.to<T>()}, s.to<T>()});
      });
    case BinaryOp::Mul:
      return KILN_DISPATCH_ALL(dt, "mul", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t>(it, ScalarRhs<MulFn<T>, T>{MulFn<T>{}, s.to<T>()});
      });
    case BinaryOp::Div:
      return KILN_DISPATCH_FLOATING(dt, "div", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t>(it, ScalarRhs<DivFn<T>, T>{DivFn<T>{}, s.to<T>()});
      });
    case BinaryOp::Pow:
      return KILN_DISPATCH_NUMERIC(dt, "pow", [&] {
        using T = opmath_t<scalar_t>;
        if (scalar_first)
          Loop::template run<scalar_t, scalar_t>(it, ScalarLhs<PowFn<T>, T>{PowFn<T>{}, s.to<T>()});
        else
          Loop::template run<scalar_t, scalar_t>(it, ScalarRhs<PowFn<T>, T>{PowFn<T>{}, s.to<T>()});
      });
    case BinaryOp::Remainder:  // the front end refuses an integer zero divisor before launching
      return KILN_DISPATCH_NUMERIC(dt, "remainder", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t>(it, ScalarRhs<RemainderFn<T>, T>{RemainderFn<T>{}, s.to<T>()});
      });
    default:
      break;
  }
  bad_pointwise_op("binary_scalar_stub");
}

template <typename Loop>
void compare_kernel(const ElementwiseIter& it, CompareOp op) {
  KILN_DISPATCH_ALL(it.dtypes[1], "compare", [&] {
    switch (op) {
      case CompareOp::Eq:
        return Loop::template run<bool, scalar_t, scalar_t>(it, EqFn{});
      case CompareOp::Ne:
        return Loop::template run<bool, scalar_t, scalar_t>(it, NeFn{});
      case CompareOp::Lt:
        return Loop::template run<bool, scalar_t, scalar_t>(it, LtFn{});
      case CompareOp::Le:
        return Loop::template run<bool, scalar_t, scalar_t>(it, LeFn{});
      default:
        bad_pointwise_op("compare_stub");  // gt/ge arrive as lt/le with swapped operands
    }
  });
}

template <typename Loop>
void compare_scalar_kernel(const ElementwiseIter& it, CompareOp op, const Scalar& s) {
  KILN_DISPATCH_ALL(it.dtypes[1], "compare", [&] {
    using T = opmath_t<scalar_t>;
    T v = s.to<T>();
    switch (op) {
      case CompareOp::Eq:
        return Loop::template run<bool, scalar_t>(it, CompareScalarFn<EqFn, T>{{}, v});
      case CompareOp::Ne:
        return Loop::template run<bool, scalar_t>(it, CompareScalarFn<NeFn, T>{{}, v});
      case CompareOp::Lt:
        return Loop::template run<bool, scalar_t>(it, CompareScalarFn<LtFn, T>{{}, v});
      case CompareOp::Le:
        return Loop::template run<bool, scalar_t>(it, CompareScalarFn<LeFn, T>{{}, v});
      case CompareOp::Gt:
        return Loop::template run<bool, scalar_t>(it, CompareScalarFn<GtFn, T>{{}, v});
      case CompareOp::Ge:
        return Loop::template run<bool, scalar_t>(it, CompareScalarFn<GeFn, T>{{}, v});
    }
  });
}

template <typename Loop>
void logical_kernel(const ElementwiseIter& it, LogicalOp op) {
  switch (op) {
    case LogicalOp::And:
      return Loop::template run<bool, bool, bool>(it, AndFn{});
    case LogicalOp::Or:
      return Loop::template run<bool, bool, bool>(it, OrFn{});
    case LogicalOp::Xor:
      return Loop::template run<bool, bool, bool>(it, XorFn{});
    case LogicalOp::Not:
      return Loop::template run<bool, bool>(it, NotFn{});
  }
}

template <typename Loop>
void isclose_kernel(const ElementwiseIter& it, double rtol, double atol, bool equal_nan) {
  KILN_DISPATCH_ALL(it.dtypes[1], "isclose", [&] {
    Loop::template run<bool, scalar_t, scalar_t>(it, IscloseFn<opmath_t<scalar_t>>{rtol, atol, equal_nan});
  });
}

template <typename Loop>
void where_kernel(const ElementwiseIter& it) {
  KILN_DISPATCH_ALL(it.dtypes[0], "where",
                    [&] { Loop::template run<scalar_t, bool, scalar_t, scalar_t>(it, WhereFn{}); });
}

template <typename Loop>
void select_scalar_kernel(const ElementwiseIter& it, const Scalar& value, bool when) {
  KILN_DISPATCH_ALL(it.dtypes[0], "masked_fill", [&] {
    using T = opmath_t<scalar_t>;
    Loop::template run<scalar_t, bool, scalar_t>(it, SelectScalarFn<T>{value.to<T>(), when});
  });
}

template <typename Loop>
void ternary_kernel(const ElementwiseIter& it, TernaryOp op, const Scalar& s) {
  DType dt = it.dtypes[0];
  switch (op) {
    case TernaryOp::Addcmul:
      return KILN_DISPATCH_NUMERIC(dt, "addcmul", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t, scalar_t, scalar_t>(it, AddcmulFn<T>{s.to<T>()});
      });
    case TernaryOp::Addcdiv:
      return KILN_DISPATCH_FLOATING(dt, "addcdiv", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t, scalar_t, scalar_t>(it, AddcdivFn<T>{s.to<T>()});
      });
    case TernaryOp::Lerp:
      return KILN_DISPATCH_FLOATING(dt, "lerp", [&] {
        using T = opmath_t<scalar_t>;
        Loop::template run<scalar_t, scalar_t, scalar_t>(it, LerpFn<T>{s.to<T>()});
      });
  }
  bad_pointwise_op("ternary_stub");
}
}  // namespace kiln::ops
