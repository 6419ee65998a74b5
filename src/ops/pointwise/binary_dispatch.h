// Binary, comparison, selection and ternary kernels for one dtype (scalar_t), written once over a loop
// policy (CpuLoop or CudaLoop). Only *.per_dtype.cpp/.cu files include this: each instantiates it for a
// single dtype, so no translation unit compiles every op for every dtype.
#pragma once
#include "kiln/core/dtype.h"
#include "ops/pointwise/binary_functors.h"
#include "ops/pointwise/pointwise_kernels.h"

namespace kiln::ops {

[[noreturn]] inline void bad_pointwise_op(const char* stub) {
  throw Error(std::string("internal error: unexpected op code passed to ") + stub);
}

template <typename Loop, typename scalar_t>
void binary_typed(const ElementwiseIter& it, BinaryOp op, const Scalar& alpha) {
  using T = opmath_t<scalar_t>;
  const T a = alpha.to<T>();
  switch (op) {
#define KILN_BINARY_CASE(name, E, dtypes, ...)                                                       \
  case BinaryOp::E:                                                                                  \
    if constexpr (kernel_accepts<KernelDTypes::dtypes, scalar_t>)                                    \
      Loop::template run<scalar_t, scalar_t, scalar_t>(it, BinaryFnFactory<E##Fn<T>, T>::make(a));   \
    else                                                                                             \
      throw_unsupported_dtype(#name, dtype_of<scalar_t>);                                            \
    break;
    KILN_FORALL_BINARY_OPS(KILN_BINARY_CASE)
#undef KILN_BINARY_CASE
  }
}

// The Scalar forms exist for the custom front ends (add, mul, pow, ...): both operand orders, since
// rsub is s - a and pow(Scalar, Tensor) is s ** a.
template <typename Loop, typename scalar_t>
void binary_scalar_typed(const ElementwiseIter& it, BinaryOp op, const Scalar& s, const Scalar& alpha,
                         bool scalar_first) {
  using T = opmath_t<scalar_t>;
  const T a = alpha.to<T>();
  T v = s.to<T>();
  switch (op) {
#define KILN_BINARY_SCALAR_CASE(name, E, dtypes, autocast, front)                                    \
  case BinaryOp::E:                                                                                  \
    KILN_IF_CUSTOM_##front(if constexpr (kernel_accepts<KernelDTypes::dtypes, scalar_t>) {                  \
      using F = E##Fn<T>;                                                                            \
      F f = BinaryFnFactory<F, T>::make(a);                                                          \
      if (scalar_first)                                                                              \
        return Loop::template run<scalar_t, scalar_t>(it, ScalarLhs<F, T>{f, v});                    \
      return Loop::template run<scalar_t, scalar_t>(it, ScalarRhs<F, T>{f, v});                      \
    } else throw_unsupported_dtype(#name, dtype_of<scalar_t>);)                                      \
    break;
    KILN_FORALL_BINARY_OPS(KILN_BINARY_SCALAR_CASE)
#undef KILN_BINARY_SCALAR_CASE
  }
  bad_pointwise_op("binary_scalar_stub");
}

template <typename Loop, typename scalar_t>
void compare_typed(const ElementwiseIter& it, CompareOp op) {
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
}

template <typename Loop, typename scalar_t>
void compare_scalar_typed(const ElementwiseIter& it, CompareOp op, const Scalar& s) {
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
}

template <typename Loop, typename scalar_t>
void logical_typed(const ElementwiseIter& it, LogicalOp op) {
  if constexpr (!std::is_same<scalar_t, bool>::value) {
    throw_unsupported_dtype("logical", dtype_of<scalar_t>);
  } else {
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
}

template <typename Loop, typename scalar_t>
void isclose_typed(const ElementwiseIter& it, double rtol, double atol, bool equal_nan) {
  Loop::template run<bool, scalar_t, scalar_t>(it, IscloseFn<opmath_t<scalar_t>>{rtol, atol, equal_nan});
}

template <typename Loop, typename scalar_t>
void where_typed(const ElementwiseIter& it) {
  Loop::template run<scalar_t, bool, scalar_t, scalar_t>(it, WhereFn{});
}

template <typename Loop, typename scalar_t>
void select_scalar_typed(const ElementwiseIter& it, const Scalar& value, bool when) {
  using T = opmath_t<scalar_t>;
  Loop::template run<scalar_t, bool, scalar_t>(it, SelectScalarFn<T>{value.to<T>(), when});
}

template <typename Loop, typename scalar_t>
void ternary_typed(const ElementwiseIter& it, TernaryOp op, const Scalar& s) {
  using T = opmath_t<scalar_t>;
  if constexpr (is_numeric_cpp<scalar_t>::value) {
    if (op == TernaryOp::Addcmul)
      return Loop::template run<scalar_t, scalar_t, scalar_t, scalar_t>(it, AddcmulFn<T>{s.to<T>()});
  }
  if constexpr (is_floating_cpp<scalar_t>::value) {
    switch (op) {
      case TernaryOp::Addcdiv:
        return Loop::template run<scalar_t, scalar_t, scalar_t, scalar_t>(it, AddcdivFn<T>{s.to<T>()});
      case TernaryOp::Lerp:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, LerpFn<T>{s.to<T>()});
      default:
        break;
    }
  }
  throw_unsupported_dtype(op == TernaryOp::Addcmul ? "addcmul" : op == TernaryOp::Addcdiv ? "addcdiv" : "lerp",
                          dtype_of<scalar_t>);
}
}  // namespace kiln::ops
