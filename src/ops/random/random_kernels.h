// Dispatch stub of the random family: fills a contiguous tensor from the Philox stream.
#pragma once
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"
#include "ops/random/philox.h"

namespace kiln::ops {
struct RandomParams {
  RandomKind kind;
  double a, b;
  uint64_t seed, offset;
  cuda::Stream stream = {};  // where the CUDA kernel runs (null for the CPU); the front end fills it (ops::op_stream)
};
KILN_DECLARE_DISPATCH(random_stub, void (*)(const Tensor& out, const RandomParams& p));
}  // namespace kiln::ops
