// The device parameter of the tests: suites run once per device (cpu, cuda) and the CUDA instance skips
// without a GPU (fails under KILN_REQUIRE_GPU=1). Kept narrow (no tensor ops) so that every test file can include it cheaply.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "gpu_skip.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/options.h"

namespace kiln::test {

/// Parameterise a suite over devices with INSTANTIATE_DEVICE_TESTS(Suite); test names end in /cpu or /cuda,
/// which is how CTest labels them. Start each body with KILN_SKIP_IF_NO_DEVICE().
inline std::vector<Device> test_devices() { return {Device("cpu"), Device("cuda")}; }
inline std::string device_param_name(const testing::TestParamInfo<Device>& info) {
  return info.param.is_cuda() ? "cuda" : "cpu";
}

/// Waits for `d` when it is a GPU. A device-side check raises what it found (an out-of-range index or
/// target, a zero divisor) at the next host wait, as PyTorch's device-side asserts do, while the CPU raises it
/// in the op itself: a test that expects such an error writes `op(...); test::wait_for(dev());`.
inline void wait_for(Device d) {
  if (d.is_cuda()) cuda::synchronize(d.index());
}

class DeviceTest : public testing::TestWithParam<Device> {
 protected:
  Device dev() const { return GetParam(); }
  TensorOptions opts(DType t = kFloat32) const { return TensorOptions().dtype(t).device(GetParam()); }
};
}  // namespace kiln::test

/// Starts a DeviceTest body: its cuda instance skips without a GPU, or fails under KILN_REQUIRE_GPU=1.
#define KILN_SKIP_IF_NO_DEVICE()                       \
  do {                                                 \
    if (GetParam().is_cuda()) KILN_SKIP_WITHOUT_GPU(); \
  } while (0)

/// Instantiates a DeviceTest-derived suite for cpu and cuda.
#define INSTANTIATE_DEVICE_TESTS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, testing::ValuesIn(::kiln::test::test_devices()), ::kiln::test::device_param_name)
