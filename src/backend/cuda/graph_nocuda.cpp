// The CPU-only build's cuda::CUDAGraph: every call that would touch a GPU throws DeviceError.
#include "kiln/cuda/graph.h"

#include "kiln/core/error.h"

namespace kiln::cuda {
namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw DeviceError(std::string(what) +
                    ": kiln was built without CUDA (rebuild with -DKILN_CUDA=ON on a machine with the CUDA toolkit)");
}
}  // namespace

CUDAGraph::CUDAGraph() = default;
CUDAGraph::~CUDAGraph() = default;
void CUDAGraph::capture(const std::function<void()>&, int) { no_cuda("cuda::CUDAGraph::capture"); }
void CUDAGraph::replay() { no_cuda("cuda::CUDAGraph::replay"); }
void CUDAGraph::reset() {}
}  // namespace kiln::cuda
