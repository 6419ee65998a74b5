// cuDNN's entry points as kiln calls them, resolved from libcudnn.so.9 on first use (only for *_cuda.cpp files:
// the cuDNN headers are large, so two files include this).
#pragma once
#include <cudnn_cnn.h>

#include "kiln/cuda/cuda.h"

namespace kiln::cuda::detail {

/// The cuDNN functions kiln's convolutions use (the legacy convolution API of cuDNN 9). cuDNN is hundreds of MB
/// of shared libraries, and a separate download from the CUDA toolkit, so libkiln does not link it: a process that
/// never convolves on a GPU never needs it installed.
struct CudnnApi {
  decltype(&cudnnGetVersion) get_version;
  decltype(&cudnnGetErrorString) error_string;
  decltype(&cudnnCreate) create;
  decltype(&cudnnSetStream) set_stream;
  decltype(&cudnnCreateTensorDescriptor) create_tensor;
  decltype(&cudnnSetTensor4dDescriptor) set_tensor_4d;
  decltype(&cudnnDestroyTensorDescriptor) destroy_tensor;
  decltype(&cudnnCreateFilterDescriptor) create_filter;
  decltype(&cudnnSetFilter4dDescriptor) set_filter_4d;
  decltype(&cudnnDestroyFilterDescriptor) destroy_filter;
  decltype(&cudnnCreateConvolutionDescriptor) create_conv;
  decltype(&cudnnSetConvolution2dDescriptor) set_conv_2d;
  decltype(&cudnnSetConvolutionGroupCount) set_conv_groups;
  decltype(&cudnnSetConvolutionMathType) set_conv_math;
  decltype(&cudnnDestroyConvolutionDescriptor) destroy_conv;
  decltype(&cudnnGetConvolutionForwardAlgorithm_v7) forward_algorithms;
  decltype(&cudnnGetConvolutionBackwardDataAlgorithm_v7) backward_data_algorithms;
  decltype(&cudnnGetConvolutionBackwardFilterAlgorithm_v7) backward_filter_algorithms;
  decltype(&cudnnGetConvolutionForwardWorkspaceSize) forward_workspace;
  decltype(&cudnnGetConvolutionBackwardDataWorkspaceSize) backward_data_workspace;
  decltype(&cudnnGetConvolutionBackwardFilterWorkspaceSize) backward_filter_workspace;
  decltype(&cudnnConvolutionForward) forward;
  decltype(&cudnnConvolutionBackwardData) backward_data;
  decltype(&cudnnConvolutionBackwardFilter) backward_filter;
  decltype(&cudnnConvolutionBackwardBias) backward_bias;
  decltype(&cudnnAddTensor) add_tensor;
};

/// Loads cuDNN once (thread-safe) and returns its functions. Looks for libcudnn.so.9 on the loader's path
/// (LD_LIBRARY_PATH, the cache), then in the CUDA toolkit's library folder found at build time. Throws
/// DeviceError naming the library, the loader's reason and how to install it when it is missing, older than 9,
/// or lacks a function.
const CudnnApi& cudnn();

/// The cuDNN handle of the current device for this thread, bound to `stream` (a stream of that device).
cudnnHandle_t cudnn_handle(cudaStream_t stream);

/// Throws CudaError naming the cuDNN call, its status and where it was made.
[[noreturn]] void throw_cudnn_error(cudnnStatus_t st, const char* expr, const char* file, int line);

}  // namespace kiln::cuda::detail

#define KILN_CUDNN_CHECK(expr)                                                      \
  do {                                                                              \
    cudnnStatus_t kiln_st_ = (expr);                                                \
    if (kiln_st_ != CUDNN_STATUS_SUCCESS)                                           \
      ::kiln::cuda::detail::throw_cudnn_error(kiln_st_, #expr, __FILE__, __LINE__); \
  } while (0)
