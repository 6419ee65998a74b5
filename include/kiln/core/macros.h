// Portability macros shared by host and device code.
#pragma once

// KILN_HD marks math that both the CPU loops and the CUDA kernels call, so the CPU tests check the GPU's math.
#if defined(__CUDACC__)
#define KILN_HD __host__ __device__ __forceinline__
#else
#define KILN_HD inline
#endif
