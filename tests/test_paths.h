// Paths the build compiles into the test binary. They are defined in test_paths.cpp alone, so every other test
// unit compiles to the same object in any checkout (a shared compiler cache then serves all worktrees).
#pragma once
#include <string>

namespace kiln::test {
/// The source tree's tests/data folder.
std::string compiled_test_data_dir();
/// The stand-in NVML library (tests/diag/fake_nvml.c) the build made; empty when it was not built.
std::string fake_nvml_path();
}  // namespace kiln::test
