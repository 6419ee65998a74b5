// The devices the conv family's (conv, pooling, batch norm) suites run on.
#pragma once
#include "test_device.h"

/// CPU and CUDA (cuDNN convolutions, kiln's pooling and batch-norm kernels); the CUDA instance skips without a GPU.
#define INSTANTIATE_CONV_FAMILY_TESTS(Suite) INSTANTIATE_DEVICE_TESTS(Suite)
