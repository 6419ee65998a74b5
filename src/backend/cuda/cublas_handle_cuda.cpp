// cuBLAS handles (per thread and device) and the cuBLAS/cuBLASLt workspaces (per stream), created lazily.
//
// Why per thread: a handle carries its stream, so two threads sharing one handle could each set a
// stream and launch on the other's. Handles are pooled per device, so threads that come and go (data
// loader workers) reuse them instead of creating new ones. Why workspaces per stream: two streams
// using one workspace at the same time would overwrite each other's scratch data; kiln's streams come
// from a small pool, so this stays a few workspaces per device.
//
// The workspace comes from the caching allocator (so an out-of-memory frees the cache and retries, and
// memory_allocated counts it, as in PyTorch), once per stream, and is never given back: it lives as long as
// the process, so creating it can never happen during CUDA-graph capture as long as one GEMM ran on that
// stream before capture started.
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cublas_api.h"
#include "backend/cuda/cuda_check.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda::detail {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // what PyTorch uses on Hopper; enough for cuBLASLt's kernels

struct DevicePool {
  std::mutex mu;
  std::vector<cublasHandle_t> idle;         // handles whose thread has ended
  std::map<cudaStream_t, void*> workspace;  // one per stream that ran cuBLAS
};

/// Never destroyed: handles and workspaces must outlive threads that end during exit.
DevicePool& pool(int device) {
  static auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<DevicePool>>();
    for (int d = 0; d < device_count(); ++d) v->push_back(std::make_unique<DevicePool>());
    return v;
  }();
  return *(*all)[device];
}

/// This thread's handles by device; gives them back to the pool when the thread ends.
struct ThreadHandles {
  std::vector<cublasHandle_t> by_device;
  ~ThreadHandles() {
    for (size_t d = 0; d < by_device.size(); ++d)
      if (by_device[d]) {
        DevicePool& p = pool(static_cast<int>(d));
        std::lock_guard<std::mutex> lock(p.mu);
        p.idle.push_back(by_device[d]);
      }
  }
};

cublasHandle_t handle_for(int device) {
  thread_local ThreadHandles mine;
  if (mine.by_device.size() <= static_cast<size_t>(device)) mine.by_device.resize(device + 1, nullptr);
  cublasHandle_t& h = mine.by_device[device];
  if (h) return h;
  DevicePool& p = pool(device);
  {
    std::lock_guard<std::mutex> lock(p.mu);
    if (!p.idle.empty()) {
      h = p.idle.back();
      p.idle.pop_back();
      return h;
    }
  }
  cublasHandle_t created = nullptr;
  KILN_CUBLAS_CHECK(cublas().create(&created));  // binds to the current device, which is `device`
  // Default math: no TF32 for float32 GEMMs, matching PyTorch's default (allow_tf32 = False).
  KILN_CUBLAS_CHECK(cublas().set_math_mode(created, CUBLAS_DEFAULT_MATH));
  // Determinism (kiln::set_deterministic is then free for GEMMs): cuBLAS routines give the same bits on every run
  // on one GPU model when no atomics are used and each concurrent stream has its own workspace. Atomics are
  // off by default, but say so, so that no later default or library update can switch them on; the per-stream
  // workspace is set in cublas_handle() after every cublasSetStream (which would otherwise restore cuBLAS's
  // shared default), which is why kiln needs no CUBLAS_WORKSPACE_CONFIG.
  KILN_CUBLAS_CHECK(cublas().set_atomics_mode(created, CUBLAS_ATOMICS_NOT_ALLOWED));
  h = created;
  return h;
}

void* workspace_for(int device, cudaStream_t stream) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  void*& ws = p.workspace[stream];
  if (!ws) {
    // Allocated in `stream`'s order and only ever used there, so no record_stream is needed.
    void* mem = caching_malloc(kWorkspaceBytes, device, stream);
    ws = mem;
  }
  return ws;
}
}  // namespace

cublasHandle_t cublas_handle(cudaStream_t stream) {
  const int d = current_device();
  cublasHandle_t h = handle_for(d);
  KILN_CUBLAS_CHECK(cublas().set_stream(h, stream));
  // cublasSetStream resets the workspace to cuBLAS's own default, so set ours after it every time.
  KILN_CUBLAS_CHECK(cublas().set_workspace(h, workspace_for(d, stream), kWorkspaceBytes));
  return h;
}

void* cublas_workspace(cudaStream_t stream, size_t* bytes) {
  const int d = current_device();
  if (bytes) *bytes = kWorkspaceBytes;
  return workspace_for(d, stream);
}

}  // namespace kiln::cuda::detail
