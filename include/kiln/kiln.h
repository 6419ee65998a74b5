// The whole public API of kiln in one include.
#pragma once
#include "kiln/autograd/autograd.h"
#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/core/scalar.h"
#include "kiln/core/threads.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops.h"
#include "kiln/tensor/tensor.h"
