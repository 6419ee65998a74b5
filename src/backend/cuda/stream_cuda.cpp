// CUDA streams (per-device default and pooled), the thread-local current stream, StreamGuard and Event.
#include <algorithm>
#include <mutex>
#include <vector>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/host_wait.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda {
namespace {

/// Streams handed out by new_stream() per device, round-robin once the pool is full, as PyTorch
/// does: a bounded set keeps the caching allocator's per-stream pools and cuBLAS workspaces bounded.
constexpr size_t kPoolSize = 8;

struct DeviceStreams {
  std::once_flag default_once;
  cudaStream_t default_stream = nullptr;
  std::mutex pool_mu;
  std::vector<cudaStream_t> pool;
  size_t next = 0;
};

DeviceStreams& streams_of(int device) {
  // Never destroyed: static destructors elsewhere may still queue work at exit, and destroying a
  // stream after the driver has shut down is itself an error.
  static DeviceStreams* all = new DeviceStreams[std::max(device_count(), 1)];
  return all[device];
}

cudaStream_t create_stream(int device) {
  DeviceGuard guard(device);
  cudaStream_t s = nullptr;
  // Non-blocking: kiln's streams never wait on the legacy stream 0 that other libraries may use.
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

cudaStream_t default_raw(int device) {
  DeviceStreams& ds = streams_of(device);
  std::call_once(ds.default_once, [&] { ds.default_stream = create_stream(device); });
  return ds.default_stream;
}

/// Per thread and device; nullptr means "kiln's default stream", so a new thread starts there.
std::vector<cudaStream_t>& thread_current() {
  thread_local std::vector<cudaStream_t> current;
  return current;
}
}  // namespace

cudaStream_t detail::raw_stream(const Stream& s) {
  return s.handle() ? static_cast<cudaStream_t>(s.handle()) : default_raw(s.device());
}

cudaStream_t detail::raw_stream_of(int device) {
  const std::vector<cudaStream_t>& cur = thread_current();
  if (static_cast<size_t>(device) < cur.size() && cur[device]) return cur[device];
  return default_raw(device);
}

Stream current_stream(int device) {
  const int d = detail::checked_device(device);
  return Stream(detail::raw_stream_of(d), d);
}

Stream default_stream(int device) {
  const int d = detail::checked_device(device);
  return Stream(default_raw(d), d);
}

Stream new_stream(int device) {
  const int d = detail::checked_device(device);
  DeviceStreams& ds = streams_of(d);
  std::lock_guard<std::mutex> lock(ds.pool_mu);
  if (ds.pool.size() < kPoolSize) {
    ds.pool.push_back(create_stream(d));
    return Stream(ds.pool.back(), d);
  }
  return Stream(ds.pool[ds.next++ % kPoolSize], d);
}

void Stream::synchronize() const {
  detail::checked_device(device_);
  detail::wait_stream(detail::raw_stream(*this), device_, detail::SyncKind::Requested, "Stream::synchronize");
}

StreamGuard::StreamGuard(Stream s) {
  const int d = detail::checked_device(s.device());
  previous_ = current_stream(d);
  std::vector<cudaStream_t>& cur = thread_current();
  if (cur.size() <= static_cast<size_t>(d)) cur.resize(d + 1, nullptr);
  cur[d] = static_cast<cudaStream_t>(s.handle());
}

StreamGuard::~StreamGuard() {
  // Checked rather than assumed (a guard destroyed on another thread); never allocates or throws.
  std::vector<cudaStream_t>& cur = thread_current();
  if (static_cast<size_t>(previous_.device()) < cur.size())
    cur[previous_.device()] = static_cast<cudaStream_t>(previous_.handle());
}

Event::Event() = default;

Event::~Event() {
  if (handle_ && cudaEventDestroy(static_cast<cudaEvent_t>(handle_)) != cudaSuccess) cudaGetLastError();
}

void Event::record(const Stream& s) {
  const int d = detail::checked_device(s.device());
  if (handle_ && device_ != d)
    throw DeviceError(kiln::detail::str("this Event was first recorded on cuda:", device_,
                                        " and cannot be recorded on a stream of cuda:", d,
                                        "; use one Event per device"));
  DeviceGuard guard(d);  // an event belongs to the device that is current when it is created
  if (!handle_) {
    // Created lazily so that an Event can be declared without a GPU; no timing makes record/wait cheaper.
    cudaEvent_t e = nullptr;
    KILN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    handle_ = e;
    device_ = d;
  }
  KILN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(handle_), detail::raw_stream(s)));
}

void Event::wait(const Stream& s) const {
  if (!handle_) return;  // never recorded: nothing to wait for (as in PyTorch)
  DeviceGuard guard(detail::checked_device(s.device()));
  KILN_CUDA_CHECK(cudaStreamWaitEvent(detail::raw_stream(s), static_cast<cudaEvent_t>(handle_), 0));
}

void Event::synchronize() const {
  if (handle_)
    detail::wait_event(static_cast<cudaEvent_t>(handle_), device_, detail::SyncKind::Requested, "Event::synchronize");
}

bool Event::query() const {
  if (!handle_) return true;
  const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(handle_));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();  // "not ready" is an answer, not an error; keep it out of the next check
    return false;
  }
  KILN_CUDA_CHECK(err);
  return true;
}

}  // namespace kiln::cuda
