// cuda::CUDAGraph: stream capture into a private allocator pool, instantiate, replay.
#include "kiln/cuda/graph.h"

#include <cuda_runtime.h>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/host_sync.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda {

CUDAGraph::CUDAGraph() = default;

CUDAGraph::~CUDAGraph() {
  try {
    reset();
  } catch (...) {
    // A destructor must not throw; the device is broken if reset failed, and the next CUDA call will say so.
  }
}

void CUDAGraph::capture(const std::function<void()>& work, int device) {
  KILN_CHECK(!captured(), "CUDAGraph::capture: this graph already holds a capture; call reset() first");
  KILN_CHECK(!is_capturing(), "CUDAGraph::capture: this thread is capturing another graph already");
  const int d = detail::checked_device(device);
  DeviceGuard guard(d);
  const Stream caller = current_stream(d), side = new_stream(d);
  {
    Event ready;  // the capture's first kernels come after what the caller queued (its inputs)
    ready.record(caller);
    ready.wait(side);
  }
  const cudaStream_t s = detail::raw_stream(side);
  const uint64_t pool = detail::new_graph_pool();
  cudaGraph_t graph = nullptr;
  cudaError_t end_err = cudaSuccess;
  {
    StreamGuard on_side(side);
    detail::begin_allocate_to_pool(d, s, pool);
    // Thread-local mode: other threads (data loader workers) may go on calling CUDA while this one captures.
    const cudaError_t begin_err = cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    if (begin_err != cudaSuccess) {
      detail::end_allocate_to_pool(d, s);
      detail::release_graph_pool(d, pool);
      KILN_CUDA_CHECK(begin_err);
    }
    detail::set_capturing(true);
    auto finish = [&] {
      end_err = cudaStreamEndCapture(s, &graph);
      detail::set_capturing(false);
      detail::end_allocate_to_pool(d, s);
    };
    try {
      work();
    } catch (...) {
      finish();
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();  // an invalidated capture leaves an error to clear
      detail::release_graph_pool(d, pool);
      throw;
    }
    finish();
  }
  if (end_err != cudaSuccess || !graph) {
    if (graph) cudaGraphDestroy(graph);
    const char* what = cudaGetErrorString(end_err);
    cudaGetLastError();
    detail::release_graph_pool(d, pool);
    throw Error(kiln::detail::str(
        "CUDAGraph::capture: CUDA invalidated the capture (", what,
        "): something in the captured code is not allowed while capturing, such as a wait for the device, a copy "
        "from pageable host memory, or work on another stream that was not joined back"));
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst_err = cudaGraphInstantiate(&exec, graph, 0);
  if (inst_err != cudaSuccess) {
    cudaGraphDestroy(graph);
    cudaGetLastError();
    detail::release_graph_pool(d, pool);
    KILN_CUDA_CHECK(inst_err);
  }
  size_t nodes = 0;
  KILN_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));
  graph_ = graph;
  exec_ = exec;
  device_ = d;
  pool_ = pool;
  nodes_ = static_cast<int64_t>(nodes);
}

void CUDAGraph::replay() {
  KILN_CHECK(captured(), "CUDAGraph::replay: nothing has been captured (call capture() first)");
  DeviceGuard guard(device_);
  KILN_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), detail::raw_stream_of(device_)));
}

void CUDAGraph::reset() {
  if (!captured()) return;
  DeviceGuard guard(device_);
  const cudaError_t e1 = cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  const cudaError_t e2 = cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  exec_ = graph_ = nullptr;
  nodes_ = 0;
  detail::release_graph_pool(device_, pool_);
  KILN_CUDA_CHECK(e1);
  KILN_CUDA_CHECK(e2);
}
}  // namespace kiln::cuda
