// Dispatch stubs of the copy family: a same-device strided, dtype-converting copy, and a fill.
#pragma once
#include "kiln/core/scalar.h"
#include "ops/dispatch.h"
#include "ops/elementwise/iter.h"

namespace kiln::ops {
/// dst (operand 0) = cast(src (operand 1)); the iter's dtypes say both types.
KILN_DECLARE_DISPATCH(copy_stub, void (*)(const ElementwiseIter&));
/// Every element of operand 0 = value.
KILN_DECLARE_DISPATCH(fill_stub, void (*)(const ElementwiseIter&, const Scalar&));
}  // namespace kiln::ops
