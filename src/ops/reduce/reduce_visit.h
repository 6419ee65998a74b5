// Maps a runtime ReduceKind to its functor, for the CPU and CUDA launchers (the one switch both share).
#pragma once
#include "kiln/core/dtype.h"
#include "ops/reduce/reduce_functors.h"
#include "ops/reduce/reduce_kernels.h"

namespace kiln::ops {

/// Calls f(op) with the functor for call.kind over input type scalar_t. Floating-only kinds are not
/// instantiated for integer inputs (the front ends refuse those with a DTypeError first).
template <typename scalar_t, typename F>
void visit_reduce_op(const ReduceCall& c, F&& f) {
  switch (c.kind) {
    case ReduceKind::Sum: return f(SumOp<scalar_t>{});
    case ReduceKind::Prod: return f(ProdOp<scalar_t>{});
    case ReduceKind::Max: return f(ExtremeOp<scalar_t, true>{});
    case ReduceKind::Min: return f(ExtremeOp<scalar_t, false>{});
    case ReduceKind::ArgMax: return f(ArgExtremeOp<scalar_t, true>{});
    case ReduceKind::ArgMin: return f(ArgExtremeOp<scalar_t, false>{});
    case ReduceKind::Any: return f(AnyAllOp<scalar_t, true>{});
    case ReduceKind::All: return f(AnyAllOp<scalar_t, false>{});
    default: break;
  }
  if constexpr (is_floating_cpp<scalar_t>::value) {
    using A = opmath_t<scalar_t>;
    switch (c.kind) {
      case ReduceKind::Mean: return f(MeanOp<scalar_t>{c.geom.K});
      case ReduceKind::Var: return f(VarOp<scalar_t, false>{c.param});
      case ReduceKind::Std: return f(VarOp<scalar_t, true>{c.param});
      case ReduceKind::Norm0: return f(NormOp<scalar_t, NormMode::Zero>{A(0)});
      case ReduceKind::Norm1: return f(NormOp<scalar_t, NormMode::One>{A(1)});
      case ReduceKind::Norm2: return f(NormOp<scalar_t, NormMode::Two>{A(2)});
      case ReduceKind::NormP: return f(NormOp<scalar_t, NormMode::General>{static_cast<A>(c.param)});
      case ReduceKind::NormInf: return f(AbsExtremeOp<scalar_t, true>{});
      case ReduceKind::NormNegInf: return f(AbsExtremeOp<scalar_t, false>{});
      case ReduceKind::LogSumExp: return f(LogSumExpOp<scalar_t>{});
      default: break;
    }
  }
  throw DTypeError(detail::str("reduction kind ", static_cast<int>(c.kind), " does not support dtype ",
                               dtype_name(c.in_dtype)));
}

/// visit_reduce_op after checking that the caller's output buffer has the dtype the functor writes.
template <typename scalar_t, typename F>
void visit_reduce_op_checked(const ReduceCall& c, F&& f) {
  visit_reduce_op<scalar_t>(c, [&](auto op) {
    using out_t = typename decltype(op)::out_t;
    KILN_CHECK_DTYPE(!c.out || c.out_dtype == dtype_of<out_t>, "reduce: internal error, output dtype ",
                     dtype_name(c.out_dtype), " does not match the kernel's ", dtype_name(dtype_of<out_t>));
    f(op);
  });
}
}  // namespace kiln::ops
