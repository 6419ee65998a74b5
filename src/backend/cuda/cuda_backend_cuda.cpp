// The CUDA Backend: the caching allocator, stream-ordered copies between host and GPUs, synchronisation.
#include "kiln/cuda/cuda.h"

#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/host_wait.h"
#include "core/backend.h"
#include "kiln/core/error.h"

namespace kiln {
namespace {

/// Whether an async copy may return before it is done: only page-locked host memory is read or written
/// by the DMA engine after cudaMemcpyAsync returns; pageable memory must not change until the copy ends.
bool is_pinned_host(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

/// Lets `device` (current) read and write `peer` directly, once per pair, when the hardware can (NVLink or
/// PCIe P2P); cudaMemcpyPeerAsync then skips the bounce through host memory.
void enable_peer_access(int device, int peer) {
  static std::mutex mu;
  static std::set<std::pair<int, int>> tried;
  std::lock_guard<std::mutex> lock(mu);
  if (!tried.insert({device, peer}).second) return;
  int can = 0;
  if (cudaDeviceCanAccessPeer(&can, device, peer) != cudaSuccess || !can) {
    cudaGetLastError();
    return;
  }
  const cudaError_t err = cudaDeviceEnablePeerAccess(peer, 0);
  if (err != cudaSuccess) cudaGetLastError();  // already enabled, or not possible: the copy still works
}

/// Uploads up to this size from pageable memory are staged through a pinned block (one memcpy on the host),
/// so they return without waiting for the GPU; larger ones wait, as the driver's own staging would.
constexpr size_t kMaxStagedUpload = size_t{16} << 20;

/// Copies pageable `src` into a cached pinned block and queues the upload from there: the caller may reuse
/// `src` at once, the host never waits, and the block is reused only after the upload ends.
void upload_staged(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  Allocator& pinned = pinned_allocator();
  void* stage = pinned.allocate(nbytes, Device(kCPU));
  std::memcpy(stage, src, nbytes);
  const cudaError_t err = cudaMemcpyAsync(dst, stage, nbytes, cudaMemcpyHostToDevice, stream);
  if (err == cudaSuccess) cuda::detail::pinned_record_stream(stage, stream);
  pinned.deallocate(stage, Device(kCPU));
  KILN_CUDA_CHECK(err);
}

class CudaBackend final : public Backend {
 public:
  Allocator& allocator() override { return cuda::caching_allocator(); }

  void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes,
                  bool non_blocking) override {
    if (nbytes == 0) return;
    if (dst_dev.is_cpu() && src_dev.is_cpu()) {
      std::memcpy(dst, src, nbytes);
      return;
    }
    if (dst_dev.is_cuda() && src_dev.is_cuda()) {
      copy_device_to_device(dst, cuda::detail::checked_device(dst_dev.index()), src,
                            cuda::detail::checked_device(src_dev.index()), nbytes);
      return;
    }
    const bool to_device = dst_dev.is_cuda();
    // A download waits for the GPU, and a captured copy would read (or write) this host buffer again at every
    // replay, long after it is gone.
    KILN_CHECK(!cuda::is_capturing(), "a CUDA graph cannot capture a copy between host memory and a GPU (",
               to_device ? "an upload" : "a download", " of ", nbytes, " bytes: .item(), .cpu(), printing a GPU "
               "tensor, or a host tensor moved to the GPU): a download waits for the GPU, and a replay would use the "
               "host buffer as it is then. Keep reads of GPU results outside the captured code, and copy inputs into "
               "the graph's own tensors before replay()");
    const int d = cuda::detail::checked_device(to_device ? dst_dev.index() : src_dev.index());
    cuda::DeviceGuard guard(d);
    cudaStream_t stream = cuda::detail::raw_stream_of(d);
    const void* host = to_device ? src : dst;
    const bool pinned = is_pinned_host(host);
    if (to_device && !pinned && nbytes <= kMaxStagedUpload) {
      upload_staged(dst, src, nbytes, stream);
      return;
    }
    KILN_CUDA_CHECK(
        cudaMemcpyAsync(dst, src, nbytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, stream));
    if (pinned && (to_device || non_blocking)) {
      cuda::detail::pinned_record_stream(host, stream);  // keeps the pinned block from reuse until the copy ends
      return;
    }
    cuda::detail::wait_stream(stream, d, cuda::detail::SyncKind::Implicit,
                              to_device ? "a copy of over 16 MiB from pageable host memory to a GPU (pin the "
                                          "source with pin_memory() to copy without waiting)"
                                        : "a copy from a GPU to host memory (.item(), .cpu(), to_vector(), "
                                          ".to(kCPU); a non_blocking copy into pinned memory does not wait)");
  }

  void synchronize(Device device) override { cuda::synchronize(device.is_cuda() ? device.index() : -1); }
  int device_count() override { return cuda::device_count(); }
  int current_device() override { return cuda::current_device(); }

 private:
  /// Device-to-device copies never block the host: they are ordered on the current streams, so any later
  /// kernel or copy on those streams sees the result (as in PyTorch, whatever non_blocking says).
  static void copy_device_to_device(void* dst, int dst_d, const void* src, int src_d, size_t nbytes) {
    cuda::DeviceGuard guard(src_d);
    const cuda::Stream copy_stream = cuda::current_stream(src_d);
    const auto raw = static_cast<cudaStream_t>(copy_stream.handle());
    if (src_d == dst_d) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, raw));
      return;
    }
    // Two-way barrier, as PyTorch does: the copy waits for work already queued on the destination's
    // stream (which may still read or write dst), and the destination's stream waits for the copy.
    enable_peer_access(src_d, dst_d);
    const cuda::Stream dst_stream = cuda::current_stream(dst_d);
    cuda::Event dst_ready;
    dst_ready.record(dst_stream);
    dst_ready.wait(copy_stream);
    KILN_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_d, src, src_d, nbytes, raw));
    cuda::Event copy_done;
    copy_done.record(copy_stream);
    copy_done.wait(dst_stream);
  }
};

// A shared library runs this when it is loaded; the registry is a function-local static, so order is safe.
[[maybe_unused]] const bool registered = [] {
  register_backend(DeviceType::CUDA, new CudaBackend());  // never destroyed: tensors may be freed at exit
  return true;
}();
}  // namespace
}  // namespace kiln
