// Registers the CUDA kernels of the pointwise family (their per-dtype instances are in cuda_*.per_dtype.cu).
#include "ops/pointwise/cuda_policy.cuh"
#include "ops/pointwise/pointwise_kernels.h"

namespace kiln::ops {
KILN_REGISTER_POINTWISE_KERNELS(CudaLoop, kCUDA);
}  // namespace kiln::ops
