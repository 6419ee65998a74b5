// cuBLAS is loaded only by the first GPU matrix product (src/backend/cuda/cublas_api.h): the CPU path, device
// queries and kiln info's checks leave it unmapped, saving ~215 MB of resident memory.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/tensor.h"

namespace {
bool cublas_mapped() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find("libcublas") != std::string::npos) return true;
  return false;
}

TEST(LazyCublas, CpuWorkAndDeviceQueriesDoNotLoadCublas) {
  // CTest runs each test in its own process; a whole-binary run on a GPU may have loaded it in an earlier test.
  const bool at_start = cublas_mapped();
  if (at_start && kiln::cuda::is_available()) GTEST_SKIP() << "an earlier GPU test in this process loaded cuBLAS";
  EXPECT_FALSE(at_start) << "cuBLAS is mapped before any GPU work: is libkiln linked against it again?";
  (void)kiln::cuda::is_available();
  (void)kiln::cuda::device_count();
  (void)kiln::cuda::unavailable_reason();
  kiln::Tensor c = kiln::matmul(kiln::randn({64, 32}), kiln::randn({32, 16}));
  EXPECT_EQ(c.size(1), 16);
  EXPECT_FALSE(cublas_mapped());
}
}  // namespace
