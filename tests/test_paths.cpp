// The build-specific paths behind test_paths.h (CMake sets the two definitions on this file only).
#include "test_paths.h"

namespace kiln::test {
std::string compiled_test_data_dir() { return KILN_TEST_DATA_DIR; }
std::string fake_nvml_path() {
#ifdef KILN_TEST_FAKE_NVML
  return KILN_TEST_FAKE_NVML;
#else
  return "";
#endif
}
}  // namespace kiln::test
