// Portability macros shared by host and device code.
#pragma once

// KILN_HD marks math that both the CPU loops and the CUDA kernels call, so the CPU tests check the GPU's math.
#if defined(__CUDACC__)
#define KILN_HD __host__ __device__ __forceinline__
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HD inline
#define KILN_HOST_DEVICE
#endif

#define KILN_API __attribute__((visibility("default")))
