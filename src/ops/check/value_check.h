// Value checks on a tensor's elements (class targets, probabilities, divisors) that never make the host wait
// for the GPU: the CPU throws the first failure at once; CUDA queues a device-side check whose failure the
// host raises at its next wait (backend/cuda/device_checks.h).
#pragma once
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/check/check_failure.h"
#include "ops/check/value_rule.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// Checks every element of `values` (contiguous) against `rule`; a failure is `failure` with the first bad
/// element's position and value. Returns the verdict on CUDA (see cuda_first_bad.cuh), undefined on the CPU.
KILN_DECLARE_DISPATCH(value_check_stub, Tensor (*)(const Tensor& values, const ValueRule& rule,
                                                    const CheckFailure& failure, cuda::Stream stream));

/// The front end: any layout, any dtype (bool checks as 0/1); an empty tensor passes.
void check_values(const Tensor& values, const ValueRule& rule, const CheckFailure& failure);
}  // namespace kiln::ops
