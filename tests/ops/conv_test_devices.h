// The devices the conv family's (conv, pooling, batch norm) suites run on.
#pragma once
#include "test_device.h"

/// The CPU only, until the family has CUDA kernels: its CUDA slots throw NotImplemented, which
/// ConvFamilyCUDA.ThrowsNotImplementedNamingTheOp checks. Then this becomes INSTANTIATE_DEVICE_TESTS.
#define INSTANTIATE_CONV_FAMILY_TESTS(Suite)                                                       \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, testing::Values(::kiln::Device("cpu")), \
                           ::kiln::test::device_param_name)
