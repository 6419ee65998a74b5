// Loads cuDNN with dlopen on the first GPU convolution (see cudnn_api.h for why it is not linked) and keeps one
// handle per thread and device, pooled when threads end, as the cuBLAS handles are.
#include "backend/cuda/cudnn_api.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "core/shared_library.h"
#include "kiln/core/error.h"

namespace kiln::cuda::detail {
namespace {
constexpr const char* kSoname = "libcudnn.so.9";

void* open_cudnn() {
  std::string why;
  if (void* h = kiln::detail::open_first_library({kSoname, std::string(KILN_CUDNN_BUILD_DIR) + "/" + kSoname}, why))
    return h;
  throw DeviceError(std::string("cannot load cuDNN (") + kSoname +
                    "), which kiln needs for convolutions on the GPU: " + why +
                    ". Install cuDNN 9 for your CUDA (apt install libcudnn9-cuda-" KILN_CUDNN_CUDA_MAJOR
                    ", or pip install nvidia-cudnn-cu" KILN_CUDNN_CUDA_MAJOR
                    " and put its nvidia/cudnn/lib folder on LD_LIBRARY_PATH)");
}

template <typename F>
void resolve(void* lib, F& fn, const char* name) {
  fn = kiln::detail::library_symbol<F>(lib, name);
  if (!fn)
    throw DeviceError(std::string("cuDNN (") + kSoname + ") has no function " + name +
                      "; kiln needs cuDNN 9 with its legacy convolution API");
}

struct DevicePool {
  std::mutex mu;
  std::vector<cudnnHandle_t> idle;  // handles whose thread has ended
};

/// Never destroyed: handles must outlive threads that end during exit.
DevicePool& pool(int device) {
  static auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<DevicePool>>();
    for (int d = 0; d < device_count(); ++d) v->push_back(std::make_unique<DevicePool>());
    return v;
  }();
  return *(*all)[device];
}

struct ThreadHandles {
  std::vector<cudnnHandle_t> by_device;
  ~ThreadHandles() {
    for (size_t d = 0; d < by_device.size(); ++d)
      if (by_device[d]) {
        DevicePool& p = pool(static_cast<int>(d));
        std::lock_guard<std::mutex> lock(p.mu);
        p.idle.push_back(by_device[d]);
      }
  }
};
}  // namespace

const CudnnApi& cudnn() {
  static const CudnnApi api = [] {
    void* lib = open_cudnn();
    CudnnApi a{};
    resolve(lib, a.get_version, "cudnnGetVersion");
    const size_t version = a.get_version();
    if (version < 90000)
      throw DeviceError("cuDNN " + std::to_string(version) + " was loaded as " + kSoname +
                        ", but kiln needs cuDNN 9 or newer");
    resolve(lib, a.error_string, "cudnnGetErrorString");
    resolve(lib, a.create, "cudnnCreate");
    resolve(lib, a.set_stream, "cudnnSetStream");
    resolve(lib, a.create_tensor, "cudnnCreateTensorDescriptor");
    resolve(lib, a.set_tensor_4d, "cudnnSetTensor4dDescriptor");
    resolve(lib, a.destroy_tensor, "cudnnDestroyTensorDescriptor");
    resolve(lib, a.create_filter, "cudnnCreateFilterDescriptor");
    resolve(lib, a.set_filter_4d, "cudnnSetFilter4dDescriptor");
    resolve(lib, a.destroy_filter, "cudnnDestroyFilterDescriptor");
    resolve(lib, a.create_conv, "cudnnCreateConvolutionDescriptor");
    resolve(lib, a.set_conv_2d, "cudnnSetConvolution2dDescriptor");
    resolve(lib, a.set_conv_groups, "cudnnSetConvolutionGroupCount");
    resolve(lib, a.set_conv_math, "cudnnSetConvolutionMathType");
    resolve(lib, a.destroy_conv, "cudnnDestroyConvolutionDescriptor");
    resolve(lib, a.forward_algorithms, "cudnnGetConvolutionForwardAlgorithm_v7");
    resolve(lib, a.backward_data_algorithms, "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    resolve(lib, a.backward_filter_algorithms, "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
    resolve(lib, a.forward_workspace, "cudnnGetConvolutionForwardWorkspaceSize");
    resolve(lib, a.backward_data_workspace, "cudnnGetConvolutionBackwardDataWorkspaceSize");
    resolve(lib, a.backward_filter_workspace, "cudnnGetConvolutionBackwardFilterWorkspaceSize");
    resolve(lib, a.forward, "cudnnConvolutionForward");
    resolve(lib, a.backward_data, "cudnnConvolutionBackwardData");
    resolve(lib, a.backward_filter, "cudnnConvolutionBackwardFilter");
    resolve(lib, a.backward_bias, "cudnnConvolutionBackwardBias");
    resolve(lib, a.add_tensor, "cudnnAddTensor");
    return a;
  }();
  return api;
}

cudnnHandle_t cudnn_handle(cudaStream_t stream) {
  const int device = current_device();
  thread_local ThreadHandles mine;
  if (mine.by_device.size() <= static_cast<size_t>(device)) mine.by_device.resize(device + 1, nullptr);
  cudnnHandle_t& h = mine.by_device[device];
  if (!h) {
    DevicePool& p = pool(device);
    std::lock_guard<std::mutex> lock(p.mu);
    if (!p.idle.empty()) {
      h = p.idle.back();
      p.idle.pop_back();
    }
  }
  if (!h) KILN_CUDNN_CHECK(cudnn().create(&h));  // binds to the current device, which is `device`
  KILN_CUDNN_CHECK(cudnn().set_stream(h, stream));
  return h;
}

void throw_cudnn_error(cudnnStatus_t st, const char* expr, const char* file, int line) {
  // The status's name needs cuDNN loaded, which it is: a status only comes from a cuDNN call.
  throw CudaError(std::string("cuDNN error ") + cudnn().error_string(st) + " (" + std::to_string(static_cast<int>(st)) +
                  ") in " + expr + " at " + file + ":" + std::to_string(line));
}

}  // namespace kiln::cuda::detail
