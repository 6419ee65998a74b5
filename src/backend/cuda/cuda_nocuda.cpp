// The CPU-only build's kiln::cuda: queries answer "no GPU", everything else throws DeviceError saying why.
#include "kiln/cuda/cuda.h"

#include <string>

#include "backend/cuda/record_stream.h"
#include "kiln/core/allocator.h"
#include "kiln/core/error.h"

namespace kiln {
namespace {
const char* const kReason =
    "kiln was built without CUDA (rebuild with -DKILN_CUDA=ON on a machine with the CUDA toolkit)";

[[noreturn]] void no_cuda(const char* what) { throw DeviceError(std::string(what) + ": " + kReason); }
}  // namespace

Allocator& pinned_allocator() { no_cuda("pinned (page-locked) host memory needs CUDA"); }

namespace cuda {

bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kReason; }
bool built_with_cuda() { return false; }
int current_device() { no_cuda("cuda::current_device"); }
void set_device(int index) { no_cuda(("cuda::set_device(" + std::to_string(index) + ")").c_str()); }
std::string device_name(int) { no_cuda("cuda::device_name"); }
std::pair<int, int> compute_capability(int) { no_cuda("cuda::compute_capability"); }
std::pair<size_t, size_t> mem_get_info(int) { no_cuda("cuda::mem_get_info"); }
int multiprocessor_count(int) { no_cuda("cuda::multiprocessor_count"); }
int runtime_version() { return 0; }
int driver_version() { return 0; }
void synchronize(int) { no_cuda("cuda::synchronize"); }

// -1 (or a CPU device) means "leave the current device alone", which needs no GPU.
DeviceGuard::DeviceGuard(int index) {
  if (index != -1) no_cuda(("cuda::DeviceGuard(" + std::to_string(index) + ")").c_str());
}
DeviceGuard::DeviceGuard(Device device) : DeviceGuard(device.is_cuda() ? device.index() : -1) {}
DeviceGuard::~DeviceGuard() = default;

void Stream::synchronize() const { no_cuda("cuda::Stream::synchronize"); }
Stream current_stream(int) { no_cuda("cuda::current_stream"); }
Stream default_stream(int) { no_cuda("cuda::default_stream"); }
Stream new_stream(int) { no_cuda("cuda::new_stream"); }
StreamGuard::StreamGuard(Stream) { no_cuda("cuda::StreamGuard"); }
StreamGuard::~StreamGuard() = default;

Event::Event() { no_cuda("cuda::Event"); }
Event::~Event() = default;
void Event::record(const Stream&) { no_cuda("cuda::Event::record"); }
void Event::wait(const Stream&) const { no_cuda("cuda::Event::wait"); }
void Event::synchronize() const { no_cuda("cuda::Event::synchronize"); }
bool Event::query() const { no_cuda("cuda::Event::query"); }

MemoryStats memory_stats(int) { no_cuda("cuda::memory_stats"); }
int64_t memory_allocated(int) { no_cuda("cuda::memory_allocated"); }
int64_t memory_reserved(int) { no_cuda("cuda::memory_reserved"); }
int64_t max_memory_allocated(int) { no_cuda("cuda::max_memory_allocated"); }
void reset_peak_memory_stats(int) { no_cuda("cuda::reset_peak_memory_stats"); }
std::string memory_summary(int) { no_cuda("cuda::memory_summary"); }
void set_per_process_memory_fraction(double, int) { no_cuda("cuda::set_per_process_memory_fraction"); }
/// Nothing is cached without CUDA, so there is nothing to give back (as torch.cuda.empty_cache()).
void empty_cache() {}
Allocator& caching_allocator() { no_cuda("the CUDA caching allocator"); }
// Unreachable from Tensor::record_stream (no CUDA tensor exists in this build); kept for the linker.
bool detail::caching_record_stream(void*, const Stream&) { no_cuda("cuda::record_stream"); }

}  // namespace cuda
}  // namespace kiln
