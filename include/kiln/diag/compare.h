// diag::compare_devices: run common ops and a few training steps on each device in float32 against a float64
// CPU reference, and say how far each lands and why (what `kiln compare` prints).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/core/device.h"

namespace kiln::diag {

/// One op on one device against the float64 CPU reference.
struct OpComparison {
  std::string op;           ///< "matmul [256x512]x[512x128]"
  std::string device;       ///< "cpu", "cuda:0"
  double max_abs_diff = 0;  ///< max |x - ref| over the output
  /// max |x - ref| / |ref| over the elements whose |ref| is at least 1e-3 of the output's largest |ref| (smaller
  /// ones would turn tiny absolute errors into huge ratios)
  double max_rel_diff = 0;
  /// the expected float32 error: the op is within it when every element has |x - ref| <= tolerance * (|ref| +
  /// 0.01 * max |ref|) (rounding errors of sums scale with the terms, so near-zero results get the floor)
  double tolerance = 0;
  bool within = false;
  std::string causes;  ///< why float32 results differ from the reference for this op
};

struct CompareOptions {
  std::vector<Device> devices;  ///< each compared with the float64 CPU reference
  uint64_t seed = 0;            ///< inputs and model initialisation
  int train_steps = 5;          ///< Adam steps of the default MLP (784-256-128-10, batch 64)
};

/// Runs matmul, sum, mean, softmax, log_softmax, exp, tanh, cross_entropy, scatter_add and train_steps steps of
/// the default MLP on each device in float32 with the same inputs, against float64 on the CPU.
std::vector<OpComparison> compare_devices(const CompareOptions& options);

/// The comparisons as a table with a closing explanation of the usual causes.
std::string format_comparisons(const std::vector<OpComparison>& rows);

}  // namespace kiln::diag
