// The tool's check of OpenBLAS's kernel choice (tools/kiln/blas_core.h): it names a core only for a CPU that
// can run it, and never overrides an explicit OPENBLAS_CORETYPE.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "blas_core.h"

namespace kiln::test {
namespace {

TEST(KilnBlasCore, NamesOnlyACoreTheCpuRuns) {
  const char* saved = std::getenv("OPENBLAS_CORETYPE");
  const std::string previous = saved ? saved : "";
  unsetenv("OPENBLAS_CORETYPE");
  const char* core = cli::openblas_core_override();
  __builtin_cpu_init();
  if (core != nullptr && std::string(core) == "SkylakeX") {
    EXPECT_TRUE(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"));
  } else if (core != nullptr) {
    EXPECT_EQ(std::string(core), "Haswell");
    EXPECT_TRUE(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  }
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  EXPECT_EQ(cli::openblas_core_override(), nullptr) << "an explicit OPENBLAS_CORETYPE is the user's choice";
  if (saved) {
    setenv("OPENBLAS_CORETYPE", previous.c_str(), 1);
  } else {
    unsetenv("OPENBLAS_CORETYPE");
  }
}
}  // namespace
}  // namespace kiln::test
