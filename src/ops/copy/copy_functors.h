// Functors of the copy family, shared by the CPU loop and the CUDA kernel.
#pragma once
#include "kiln/core/dtype.h"

namespace kiln::ops {
/// Identity in opmath; the loop's loads and stores do the dtype conversion.
struct CastFn {
  template <typename T>
  KILN_HD T operator()(T v) const { return v; }
};
/// Returns a constant, for fill.
template <typename T>
struct FillFn {
  T value;
  KILN_HD T operator()() const { return value; }
};
}  // namespace kiln::ops
