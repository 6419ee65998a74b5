// What a GPU test does without a usable GPU: skip, or fail when KILN_REQUIRE_GPU=1 (a GPU machine's run, where a
// skip would hide that nothing was tested).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "kiln/cuda/cuda.h"

namespace kiln::test {

/// Whether KILN_REQUIRE_GPU asks for a GPU: set and neither empty nor "0".
inline bool gpu_required(const char* env_value) {
  return env_value != nullptr && env_value[0] != '\0' && std::strcmp(env_value, "0") != 0;
}
inline bool gpu_required() { return gpu_required(std::getenv("KILN_REQUIRE_GPU")); }

enum class NoGpuAction { kRun, kSkip, kFail };

/// kRun when a GPU is usable; otherwise kFail when one is required, kSkip when not.
inline NoGpuAction no_gpu_action(bool gpu_available, bool required) {
  if (gpu_available) return NoGpuAction::kRun;
  return required ? NoGpuAction::kFail : NoGpuAction::kSkip;
}
/// The same for this process: kiln's GPU availability and the KILN_REQUIRE_GPU variable.
inline NoGpuAction no_gpu_action() { return no_gpu_action(::kiln::cuda::is_available(), gpu_required()); }

}  // namespace kiln::test

/// Starts a test (or SetUp) that needs a GPU: returns from it skipped without one, or failed under
/// KILN_REQUIRE_GPU=1. A test that needs more than a GPU (two GPUs, enough free memory) still skips for that.
#define KILN_SKIP_WITHOUT_GPU()                                                                          \
  do {                                                                                                   \
    switch (::kiln::test::no_gpu_action()) {                                                             \
      case ::kiln::test::NoGpuAction::kRun: break;                                                       \
      case ::kiln::test::NoGpuAction::kSkip:                                                             \
        GTEST_SKIP() << "no usable GPU: " << ::kiln::cuda::unavailable_reason();                         \
      case ::kiln::test::NoGpuAction::kFail:                                                             \
        FAIL() << "KILN_REQUIRE_GPU is set but no GPU is usable: " << ::kiln::cuda::unavailable_reason(); \
    }                                                                                                    \
  } while (0)
