// The op table of the binary pointwise family: each op declared once, with what the kernel accepts, its
// autocast category and whether its front end is generated. Macros only; included by the public headers.
#pragma once
#include <cstdint>

namespace kiln {

/// How autocast (mixed precision) treats an op's floating inputs, PyTorch's categories: LowerPrecision runs
/// in the autocast dtype (matmul, linear), Float32 runs in float32 (exp, softmax, losses), Promote runs
/// in the widest input dtype (binary arithmetic on mixed dtypes), Unchanged leaves the inputs alone.
enum class AutocastCategory : int8_t { LowerPrecision, Float32, Promote, Unchanged };

/// Which dtypes an op's kernel computes in. Floating: integer and bool inputs compute in float32 (as torch's
/// true division); Numeric: every dtype but bool; All: every dtype.
enum class KernelDTypes : int8_t { Floating, Numeric, All };
}  // namespace kiln

/// Binary pointwise ops, out = f(a, b) with broadcasting and torch's type promotion. Columns:
///   name     the function (and Tensor method) name; for div's rounding modes, the name errors use
///   Enum     the kernel's op code (ops::BinaryOp::Enum); the math is the functor ops::<Enum>Fn<T>
///   dtypes   a KernelDTypes value
///   autocast an AutocastCategory value
///   front    Generic: the declaration, the definition, the Tensor method and the autograd node follow from
///            this row and the gradient is ops::<name>_backward (src/ops/pointwise/binary_grads.cpp);
///            Custom: hand-written front end (extra arguments such as alpha, Scalar forms, special rules).
/// Adding a Generic op is a row here, its functor, its gradient and its test.
#define KILN_FORALL_BINARY_OPS(_)                       \
  _(add, Add, All, Promote, Custom)                     \
  _(mul, Mul, All, Promote, Custom)                     \
  _(div, Div, Floating, Promote, Custom)                \
  _(pow, Pow, Numeric, Float32, Custom)                 \
  _(remainder, Remainder, Numeric, Promote, Custom)     \
  _(fmod, Fmod, Numeric, Promote, Custom)               \
  _(div_trunc, DivTrunc, Numeric, Promote, Custom)      \
  _(div_floor, DivFloor, Numeric, Promote, Custom)      \
  _(maximum, Maximum, All, Promote, Generic)            \
  _(minimum, Minimum, All, Promote, Generic)            \
  _(atan2, Atan2, Floating, Promote, Generic)

/// Unary pointwise ops with the generic front end, out = name(a): integer and bool inputs compute in float32
/// (as torch's exp). Columns:
///   name     the function (and Tensor method) name
///   Kernel   the unary kernel it runs (ops::UnaryOp::Kernel, KILN_FORALL_UNARY_KERNELS)
///   autocast an AutocastCategory value
///   saves    what the gradient needs: Input (x) or Output (y); the other is passed undefined
///   node     the autograd node's name (torch's)
/// The gradient is ops::<name>_backward(g, x, y) (src/ops/pointwise/unary_grads.cpp).
#define KILN_FORALL_UNARY_OPS(_)                             \
  _(exp, Exp, Float32, Output, ExpBackward0)                 \
  _(log, Log, Float32, Input, LogBackward0)                  \
  _(log1p, Log1p, Float32, Input, Log1PBackward0)            \
  _(sqrt, Sqrt, Unchanged, Output, SqrtBackward0)            \
  _(rsqrt, Rsqrt, Float32, Output, RsqrtBackward0)           \
  _(sin, Sin, Unchanged, Input, SinBackward0)                \
  _(cos, Cos, Unchanged, Input, CosBackward0)                \
  _(tanh, Tanh, Unchanged, Output, TanhBackward0)            \
  _(sigmoid, Sigmoid, Unchanged, Output, SigmoidBackward0)   \
  _(reciprocal, Reciprocal, Float32, Output, ReciprocalBackward0)

// Helpers that turn a row's `front` column into code or nothing: KILN_IF_GENERIC_##front(code) keeps the
// code for Generic rows, KILN_IF_CUSTOM_##front(code) for Custom rows.
#define KILN_IF_GENERIC_Generic(...) __VA_ARGS__
#define KILN_IF_GENERIC_Custom(...)
#define KILN_IF_CUSTOM_Generic(...)
#define KILN_IF_CUSTOM_Custom(...) __VA_ARGS__
