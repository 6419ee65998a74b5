// OpenBLAS's kernel choice, checked against what the CPU can run.
#include "blas_core.h"

#include <cblas.h>
#include <strings.h>

#include <cstdlib>

namespace kiln::cli {
const char* openblas_core_override() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return nullptr;
  // Debian 12's OpenBLAS 0.3.21 does not know Sapphire Rapids (and a hypervisor may hide the model): it then
  // runs Prescott's SSE3 sgemm, measured 5x slower than its SkylakeX kernels on this project's machine.
  const char* core = openblas_get_corename();
  if (core == nullptr || strcasecmp(core, "prescott") != 0) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}
}  // namespace kiln::cli
