// Dispatch stub of the random family: fills a contiguous tensor from the Philox stream.
#pragma once
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"
#include "ops/random/philox.h"

namespace kiln::ops {
struct RandomParams {
  RandomKind kind;
  double a, b;
  uint64_t seed, offset;
};
KILN_DECLARE_DISPATCH(random_stub, void (*)(const Tensor& out, const RandomParams& p));
}  // namespace kiln::ops
