// Unary kernels (math, activations, their fused derivatives, predicates, clamp) written once over a loop
// policy (CpuLoop or CudaLoop). Floating math is instantiated for the four floating dtypes only.
#pragma once
#include <limits>

#include "kiln/core/dtype.h"
#include "ops/pointwise/binary_dispatch.h"
#include "ops/pointwise/unary_functors.h"

namespace kiln::ops {

/// Ops that take integers: one instantiation per numeric dtype.
template <typename Loop>
void unary_integral_kernel(const ElementwiseIter& it, UnaryOp op) {
  KILN_DISPATCH_NUMERIC(it.dtypes[0], "unary", [&] {
    switch (op) {
      case UnaryOp::Neg:
        return Loop::template run<scalar_t, scalar_t>(it, NegFn{});
      case UnaryOp::Abs:
        return Loop::template run<scalar_t, scalar_t>(it, AbsFn{});
      case UnaryOp::Sign:
        return Loop::template run<scalar_t, scalar_t>(it, SignFn{});
      case UnaryOp::Square:
        return Loop::template run<scalar_t, scalar_t>(it, SquareFn{});
      case UnaryOp::Relu:
        return Loop::template run<scalar_t, scalar_t>(it, ReluFn{});
      default:
        bad_pointwise_op("unary_stub");
    }
  });
}

template <typename Loop>
void unary_kernel(const ElementwiseIter& it, UnaryOp op, double p0, double p1) {
  if (unary_accepts_integers(op)) return unary_integral_kernel<Loop>(it, op);
  KILN_DISPATCH_FLOATING(it.dtypes[0], "unary", [&] {
    using T = opmath_t<scalar_t>;
    switch (op) {
      case UnaryOp::Exp:
        return Loop::template run<scalar_t, scalar_t>(it, ExpFn{});
      case UnaryOp::Log:
        return Loop::template run<scalar_t, scalar_t>(it, LogFn{});
      case UnaryOp::Log1p:
        return Loop::template run<scalar_t, scalar_t>(it, Log1pFn{});
      case UnaryOp::Sqrt:
        return Loop::template run<scalar_t, scalar_t>(it, SqrtFn{});
      case UnaryOp::Rsqrt:
        return Loop::template run<scalar_t, scalar_t>(it, RsqrtFn{});
      case UnaryOp::Sin:
        return Loop::template run<scalar_t, scalar_t>(it, SinFn{});
      case UnaryOp::Cos:
        return Loop::template run<scalar_t, scalar_t>(it, CosFn{});
      case UnaryOp::Tanh:
        return Loop::template run<scalar_t, scalar_t>(it, TanhFn{});
      case UnaryOp::Sigmoid:
        return Loop::template run<scalar_t, scalar_t>(it, SigmoidFn{});
      case UnaryOp::Reciprocal:
        return Loop::template run<scalar_t, scalar_t>(it, ReciprocalFn{});
      case UnaryOp::Floor:
        return Loop::template run<scalar_t, scalar_t>(it, FloorFn{});
      case UnaryOp::Ceil:
        return Loop::template run<scalar_t, scalar_t>(it, CeilFn{});
      case UnaryOp::Round:
        return Loop::template run<scalar_t, scalar_t>(it, RoundFn{});
      case UnaryOp::LeakyRelu:
        return Loop::template run<scalar_t, scalar_t>(it, LeakyReluFn<T>{T(p0)});
      case UnaryOp::GeluErf:
        return Loop::template run<scalar_t, scalar_t>(it, GeluErfFn{});
      case UnaryOp::GeluTanh:
        return Loop::template run<scalar_t, scalar_t>(it, GeluTanhFn{});
      case UnaryOp::Silu:
        return Loop::template run<scalar_t, scalar_t>(it, SiluFn{});
      case UnaryOp::Softplus:
        return Loop::template run<scalar_t, scalar_t>(it, SoftplusFn<T>{T(p0), T(p1)});
      case UnaryOp::NormCdf:
        return Loop::template run<scalar_t, scalar_t>(it, NormCdfFn{});
      default:
        bad_pointwise_op("unary_stub");
    }
  });
}

template <typename Loop>
void unary_backward_kernel(const ElementwiseIter& it, UnaryBackwardOp op, double p0, double p1) {
  KILN_DISPATCH_FLOATING(it.dtypes[0], "unary_backward", [&] {
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
  });
}

template <typename Loop>
void float_class_kernel(const ElementwiseIter& it, FloatClass op) {
  KILN_DISPATCH_FLOATING(it.dtypes[1], "isnan", [&] {
    switch (op) {
      case FloatClass::IsNan:
        return Loop::template run<bool, scalar_t>(it, IsNanFn{});
      case FloatClass::IsInf:
        return Loop::template run<bool, scalar_t>(it, IsInfFn{});
      case FloatClass::IsFinite:
        return Loop::template run<bool, scalar_t>(it, IsFiniteFn{});
    }
  });
}

template <typename Loop>
void clamp_kernel(const ElementwiseIter& it, const Scalar& lo, const Scalar& hi, bool has_lo, bool has_hi) {
  KILN_DISPATCH_NUMERIC(it.dtypes[0], "clamp", [&] {
    using T = opmath_t<scalar_t>;
    T l = has_lo ? lo.to<T>() : T(0), h = has_hi ? hi.to<T>() : T(0);
    Loop::template run<scalar_t, scalar_t>(it, ClampFn<T>{l, h, has_lo, has_hi});
  });
}
}  // namespace kiln::ops
