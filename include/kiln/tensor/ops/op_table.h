// The op table of the binary pointwise family: each op declared once, with what the kernel accepts, its
// autocast category and whether its front end is generated. Macros only; included by the public headers.
#pragma once
#include <cstdint>

namespace kiln {

/// How autocast (mixed precision) treats an op's floating inputs, PyTorch's lists: LowerPrecision runs in the
/// autocast dtype (matmul, linear, conv), Float32 runs in float32 on every device (losses, prod),
/// Float32OnCuda in float32 on CUDA and in the input's dtype on the CPU (exp, log, pow, softmax, sum: torch's CPU
/// autocast leaves them alone), Promote runs in the widest floating input dtype (addcmul, atan2), Unchanged
/// leaves the inputs alone (type promotion already runs add or mul on bfloat16 and float32 in float32).
/// src/ops/autocast/autocast_state.cpp applies them.
enum class AutocastCategory : int8_t { LowerPrecision, Float32, Float32OnCuda, Promote, Unchanged };

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
#define KILN_FORALL_BINARY_OPS(_)                     \
  _(add, Add, All, Unchanged, Custom)                 \
  _(mul, Mul, All, Unchanged, Custom)                 \
  _(div, Div, Floating, Unchanged, Custom)            \
  _(pow, Pow, Numeric, Float32OnCuda, Custom)         \
  _(remainder, Remainder, Numeric, Unchanged, Custom) \
  _(fmod, Fmod, Numeric, Unchanged, Custom)           \
  _(div_trunc, DivTrunc, Numeric, Unchanged, Custom)  \
  _(div_floor, DivFloor, Numeric, Unchanged, Custom)  \
  _(maximum, Maximum, All, Unchanged, Generic)        \
  _(minimum, Minimum, All, Unchanged, Generic)        \
  _(atan2, Atan2, Floating, Promote, Generic)

/// Unary pointwise ops with the generic front end, out = name(a): integer and bool inputs compute in float32
/// (as torch's exp). Columns:
///   name     the function (and Tensor method) name
///   Kernel   the unary kernel it runs (ops::UnaryOp::Kernel, KILN_FORALL_UNARY_KERNELS)
///   autocast an AutocastCategory value
///   saves    what the gradient needs: Input (x) or Output (y); the other is passed undefined
///   node     the autograd node's name (torch's)
/// The gradient is ops::<name>_backward(g, x, y) (src/ops/pointwise/unary_grads.cpp).
#define KILN_FORALL_UNARY_OPS(_)                                        \
  _(exp, Exp, Float32OnCuda, Output, ExpBackward0)                      \
  _(log, Log, Float32OnCuda, Input, LogBackward0)                       \
  _(log1p, Log1p, Float32OnCuda, Input, Log1PBackward0)                 \
  _(sqrt, Sqrt, Unchanged, Output, SqrtBackward0)                       \
  _(rsqrt, Rsqrt, Float32OnCuda, Output, RsqrtBackward0)                \
  _(sin, Sin, Unchanged, Input, SinBackward0)                           \
  _(cos, Cos, Unchanged, Input, CosBackward0)                           \
  _(tanh, Tanh, Unchanged, Output, TanhBackward0)                       \
  _(sigmoid, Sigmoid, Unchanged, Output, SigmoidBackward0)              \
  _(reciprocal, Reciprocal, Float32OnCuda, Output, ReciprocalBackward0)

// Helpers that turn a row's `front` column into code or nothing: KILN_IF_GENERIC_##front(code) keeps the
// code for Generic rows, KILN_IF_CUSTOM_##front(code) for Custom rows.
#define KILN_IF_GENERIC_Generic(...) __VA_ARGS__
#define KILN_IF_GENERIC_Custom(...)
#define KILN_IF_CUSTOM_Generic(...)
#define KILN_IF_CUSTOM_Custom(...) __VA_ARGS__
