// Unary kernels (math, activations, their fused derivatives, predicates, clamp) for one dtype, written once
// over a loop policy (CpuLoop or CudaLoop). Only *.per_dtype.cpp/.cu files include this (one dtype each);
// floating math is instantiated for the floating dtypes only.
#pragma once
#include <limits>

#include "kiln/core/dtype.h"
#include "ops/pointwise/binary_functors.h"
#include "ops/pointwise/pointwise_kernels.h"
#include "ops/pointwise/unary_functors.h"

namespace kiln::ops {

template <typename Loop, typename scalar_t>
void unary_typed(const ElementwiseIter& it, UnaryOp op, double p0, double p1) {
  using T = opmath_t<scalar_t>;
  switch (op) {
#define KILN_UNARY_CASE(E, dtypes, ...)                                  \
  case UnaryOp::E:                                                       \
    if constexpr (kernel_accepts<KernelDTypes::dtypes, scalar_t>)        \
      return Loop::template run<scalar_t, scalar_t>(it, __VA_ARGS__);    \
    break;
    KILN_FORALL_UNARY_KERNELS(KILN_UNARY_CASE)
#undef KILN_UNARY_CASE
  }
  throw_unsupported_dtype("unary", dtype_of<scalar_t>);
}

template <typename Loop, typename scalar_t>
void unary_backward_typed(const ElementwiseIter& it, UnaryBackwardOp op, double p0, double p1) {
  if constexpr (!is_floating_cpp<scalar_t>::value) {
    throw_unsupported_dtype("unary_backward", dtype_of<scalar_t>);
  } else {
    using T = opmath_t<scalar_t>;
    switch (op) {
      case UnaryBackwardOp::SigmoidOut:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, SigmoidBackwardFn{});
      case UnaryBackwardOp::TanhOut:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, TanhBackwardFn{});
      case UnaryBackwardOp::ReluOut:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, ReluBackwardFn{});
      case UnaryBackwardOp::LeakyRelu:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, LeakyReluBackwardFn<T>{T(p0)});
      case UnaryBackwardOp::GeluErf:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, GeluErfBackwardFn{});
      case UnaryBackwardOp::GeluTanh:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, GeluTanhBackwardFn{});
      case UnaryBackwardOp::Silu:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, SiluBackwardFn{});
      case UnaryBackwardOp::Softplus:
        return Loop::template run<scalar_t, scalar_t, scalar_t>(it, SoftplusBackwardFn<T>{T(p0), T(p1)});
    }
  }
}

template <typename Loop, typename scalar_t>
void float_class_typed(const ElementwiseIter& it, FloatClass op) {
  if constexpr (!is_floating_cpp<scalar_t>::value) {
    throw_unsupported_dtype("isnan", dtype_of<scalar_t>);
  } else {
    switch (op) {
      case FloatClass::IsNan:
        return Loop::template run<bool, scalar_t>(it, IsNanFn{});
      case FloatClass::IsInf:
        return Loop::template run<bool, scalar_t>(it, IsInfFn{});
      case FloatClass::IsFinite:
        return Loop::template run<bool, scalar_t>(it, IsFiniteFn{});
    }
  }
}

template <typename Loop, typename scalar_t>
void clamp_typed(const ElementwiseIter& it, const Scalar& lo, const Scalar& hi, bool has_lo, bool has_hi) {
  if constexpr (!is_numeric_cpp<scalar_t>::value) {
    throw_unsupported_dtype("clamp", dtype_of<scalar_t>);
  } else {
    using T = opmath_t<scalar_t>;
    T l = has_lo ? lo.to<T>() : T(0), h = has_hi ? hi.to<T>() : T(0);
    Loop::template run<scalar_t, scalar_t>(it, ClampFn<T>{l, h, has_lo, has_hi});
  }
}
}  // namespace kiln::ops
