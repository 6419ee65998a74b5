// The per-device CUDA caching allocator (after PyTorch's): no cudaMalloc in steady state, stream-ordered reuse.
//
// How it works. Requests are rounded up to 512 bytes. Requests up to 1 MiB come from the small pool,
// carved out of 2 MiB segments; larger ones from the large pool, carved out of 20 MiB segments when
// under 10 MiB, otherwise from a segment of their own rounded up to 2 MiB. A segment is one cudaMalloc.
// Free blocks sit in a std::set ordered by (stream, size, address), so the best fit for a stream is one
// lower_bound. A block bigger than needed is split when the rest is worth keeping, and a freed block
// merges with free neighbours of its segment, so segments come back whole.
//
// Streams. A block remembers the stream current when it was allocated and is only handed out again to
// requests on that stream. Work on one stream runs in order, so a block freed by the host while kernels
// using it are still queued can be reused at once: the next user's kernels queue behind them. Memory also
// used on ANOTHER stream must be marked with Tensor::record_stream (as in PyTorch): the block then lists
// those streams, and its free records an event on each and parks it in DeferredFrees (deferred_frees.h)
// instead of its pool. Parked blocks go back to their pool when their events have completed, which later
// mallocs check without waiting; empty_cache and the out-of-memory retry wait for the device instead. The
// host never blocks in free. allocated_bytes drops at free, as in PyTorch: the tensor is gone even if its
// memory is not reusable yet (reserved_bytes still counts it).
//
// CUDA graphs. A graph replays kernels at the addresses they had during capture, so memory allocated while a
// stream is captured comes from that graph's private pool: every block has a pool id (0: eager memory), the free
// sets are ordered by (pool, stream, size, address), and a block goes back only to its own pool. Blocks freed
// during the capture are reused by later allocations of the same capture (stream order holds inside the graph),
// never by eager work. A capture's new segments are cudaMalloc'd in relaxed capture mode (cudaMalloc is not a
// stream operation, so capture does not record it); nothing waits for the device while a pool is being
// allocated to (no event queries, no emptying the cache on out-of-memory). When its graph is reset the pool is
// released: its whole free segments go back to the driver, and segments freed later (tensors that outlived the
// graph, such as gradients) go back at the next empty_cache or out-of-memory retry; eager work never reuses them.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/deferred_frees.h"
#include "backend/cuda/host_wait.h"
#include "backend/cuda/record_stream.h"
#include "core/memory_budget.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda {
namespace {

constexpr size_t kMinBlockSize = 512;         // every size is a multiple of this (alignment for any dtype)
constexpr size_t kSmallSize = 1 << 20;        // requests up to this use the small pool
constexpr size_t kSmallBuffer = 2 << 20;      // small-pool segment size
constexpr size_t kMinLargeAlloc = 10 << 20;   // large requests below this share a kLargeBuffer segment
constexpr size_t kLargeBuffer = 20 << 20;     // shared large-pool segment size
constexpr size_t kRoundLarge = 2 << 20;       // bigger requests get a segment rounded up to this
constexpr size_t kMaxRequest = SIZE_MAX / 2;  // keeps the rounding below from overflowing

struct Block {
  char* ptr;
  size_t size;
  cudaStream_t stream;
  bool small;  // which pool the block's segment belongs to
  uint64_t pool = 0;  // 0: eager memory; else the CUDA graph whose capture allocated the segment
  bool allocated = false;  // in use, or freed but parked in DeferredFrees: either way not in a pool
  Block* prev = nullptr;   // neighbours inside the same segment (nullptr at its ends)
  Block* next = nullptr;
  std::vector<cudaStream_t> stream_uses = {};  // other streams it was used on since its allocation (record_stream)
};

struct BlockLess {
  bool operator()(const Block* a, const Block* b) const {
    if (a->pool != b->pool) return a->pool < b->pool;
    const auto sa = reinterpret_cast<uintptr_t>(a->stream), sb = reinterpret_cast<uintptr_t>(b->stream);
    if (sa != sb) return sa < sb;
    if (a->size != b->size) return a->size < b->size;
    return reinterpret_cast<uintptr_t>(a->ptr) < reinterpret_cast<uintptr_t>(b->ptr);
  }
};
using FreeSet = std::set<Block*, BlockLess>;

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t segment_size(size_t size) {
  if (size <= kSmallSize) return kSmallBuffer;
  if (size < kMinLargeAlloc) return kLargeBuffer;
  return round_up(size, kRoundLarge);
}

std::string human(double bytes) { return kiln::detail::human_bytes(bytes); }

/// One device's cache. Every member is guarded by mu_.
class DeviceCache {
 public:
  explicit DeviceCache(int device) : device_(device) {}

  void* malloc(size_t nbytes, cudaStream_t stream) {
    if (nbytes == 0) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (nbytes > kMaxRequest) {
      budget_.on_oom();
      throw_oom(nbytes);
    }
    const uint64_t pool_id = capture_pool(stream);
    // Blocks whose other streams are done go back to the pools before the search (not during a capture: the
    // event queries are not allowed then).
    if (pool_id == 0) collect_deferred();
    const size_t size = round_up(nbytes, kMinBlockSize);
    const bool small = size <= kSmallSize;
    FreeSet& pool = small ? small_ : large_;
    Block* block = take_best_fit(pool, size, stream, pool_id);
    if (!block) block = new_segment(segment_size(size), stream, small, nbytes, pool_id);
    const size_t rest = block->size - size;
    if (small ? rest >= kMinBlockSize : rest > kSmallSize) {  // keep a remainder only when it is reusable
      Block* r = new Block{block->ptr + size, rest, stream, small, pool_id};
      r->prev = block;
      r->next = block->next;
      if (r->next) r->next->prev = r;
      block->next = r;
      block->size = size;
      pool.insert(r);
    }
    block->allocated = true;
    live_[block->ptr] = block;
    budget_.on_alloc(block->size);
    return block->ptr;
  }

  /// False when ptr did not come from this device.
  bool free(void* ptr) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return false;
    Block* b = it->second;
    live_.erase(it);
    budget_.on_free(b->size);
    if (!b->stream_uses.empty() && b->pool == 0) {
      const std::vector<cudaEvent_t> events = record_use_events(b->stream_uses);
      b->stream_uses.clear();
      if (!events.empty()) {
        deferred_.defer(b, events);  // stays marked allocated, so free neighbours do not merge into it
        return true;
      }
    }
    release_block(b);
    return true;
  }

  /// Notes that the live block starting at ptr is used on `stream`. False when ptr is not such a block.
  bool record_stream(void* ptr, cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return false;
    detail::add_stream_use(it->second->stream_uses, it->second->stream, stream);
    return true;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached();
  }

  /// From now until end_capture_pool(stream), allocations on `stream` come from pool `pool_id`.
  void begin_capture_pool(cudaStream_t stream, uint64_t pool_id) {
    std::lock_guard<std::mutex> lock(mu_);
    capture_pools_.emplace_back(stream, pool_id);
  }
  void end_capture_pool(cudaStream_t stream) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    capture_pools_.erase(std::remove_if(capture_pools_.begin(), capture_pools_.end(),
                                        [&](const auto& e) { return e.first == stream; }),
                         capture_pools_.end());
  }
  /// The graph of `pool_id` is gone: its free whole segments go back to the driver (after waiting for the
  /// device, which may still be replaying it); release_cached frees the rest once they are free.
  void release_pool(uint64_t pool_id) {
    std::lock_guard<std::mutex> lock(mu_);
    released_pools_.push_back(pool_id);
    release_whole_segments([pool_id](const Block* b) { return b->pool == pool_id; });
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_locked();
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    budget_.reset_peak();
  }

  /// Caps reserved bytes at `bytes` (0: no cap). Memory already reserved stays; growth past the cap fails.
  void set_limit(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    budget_.set_limit(bytes);
  }

 private:
  /// The pool allocations on `stream` come from: a capturing graph's, or 0. Caller holds mu_.
  uint64_t capture_pool(cudaStream_t stream) const {
    for (const auto& [s, id] : capture_pools_)
      if (s == stream) return id;
    return 0;
  }

  /// The smallest free block of at least `size` of pool `pool_id` that was allocated on `stream`.
  static Block* take_best_fit(FreeSet& pool, size_t size, cudaStream_t stream, uint64_t pool_id) {
    Block key{nullptr, size, stream, false, pool_id};
    auto it = pool.lower_bound(&key);
    if (it == pool.end() || (*it)->stream != stream || (*it)->pool != pool_id) return nullptr;
    Block* b = *it;
    pool.erase(it);
    return b;
  }

  /// Returns a block nobody uses any more to its pool, merged with its free neighbours. Caller holds mu_.
  void release_block(Block* b) {
    b->allocated = false;
    FreeSet& pool = b->small ? small_ : large_;
    merge_into(b, b->prev, pool);
    merge_into(b, b->next, pool);
    pool.insert(b);
  }

  /// An event of this device from the spare ones or new; nullptr when none can be made. The caller has made
  /// this device current. Never throws.
  cudaEvent_t take_event() noexcept {
    if (!spare_events_.empty()) {
      cudaEvent_t e = spare_events_.back();
      spare_events_.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    // No timing: record and query are cheaper, and only completion is asked.
    if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) == cudaSuccess) return e;
    cudaGetLastError();
    return nullptr;
  }

  /// One event recorded now on each of `streams` (streams of this device). Never throws, as it runs in free:
  /// when an event cannot be made or recorded, it waits for that stream instead (only on an error path, where
  /// the context is usually broken anyway). Caller holds mu_.
  std::vector<cudaEvent_t> record_use_events(const std::vector<cudaStream_t>& streams) noexcept {
    const int previous = detail::enter_device_noexcept(device_);  // switches only if needed, as DeviceGuard does
    std::vector<cudaEvent_t> events;
    for (cudaStream_t s : streams) {
      cudaEvent_t e = take_event();
      if (e && cudaEventRecord(e, s) == cudaSuccess) {
        events.push_back(e);
        continue;
      }
      cudaGetLastError();
      if (e) spare_events_.push_back(e);
      detail::note_host_sync(detail::SyncKind::Internal, "the allocator could not record an event");
      if (cudaStreamSynchronize(s) != cudaSuccess) cudaGetLastError();
    }
    detail::leave_device_noexcept(previous);
    return events;
  }

  /// Returns parked blocks whose events have completed to their pools, without waiting. Caller holds mu_.
  void collect_deferred() {
    if (deferred_.empty()) return;
    deferred_.collect(
        [](cudaEvent_t e) {
          const cudaError_t err = cudaEventQuery(e);
          if (err == cudaErrorNotReady) {
            cudaGetLastError();  // "not ready" is an answer, not an error
            return false;
          }
          KILN_CUDA_CHECK(err);
          return true;
        },
        [this](cudaEvent_t e) { spare_events_.push_back(e); }, [this](Block* b) { release_block(b); });
  }

  /// Folds free neighbour `nb` into `b` (which is not in any set while this runs).
  static void merge_into(Block* b, Block* nb, FreeSet& pool) {
    if (!nb || nb->allocated) return;
    pool.erase(nb);
    if (nb == b->prev) {
      b->ptr = nb->ptr;
      b->prev = nb->prev;
      if (b->prev) b->prev->next = b;
    } else {
      b->next = nb->next;
      if (b->next) b->next->prev = b;
    }
    b->size += nb->size;
    delete nb;
  }

  cudaError_t device_malloc(void** p, size_t bytes) {
    DeviceGuard guard(device_);
    return cudaMalloc(p, bytes);
  }

  /// A new segment from cudaMalloc. When the device (or the per-process limit) refuses, cached but unused
  /// segments may be what stands in the way: the budget gives them back and tries once more, then this throws.
  Block* new_segment(size_t bytes, cudaStream_t stream, bool small, size_t requested, uint64_t pool_id) {
    void* p = budget_.reserve(
        bytes,
        [this, pool_id](size_t n) -> void* {
          void* q = nullptr;
          cudaError_t err = cudaSuccess;
          if (pool_id == 0) {
            err = device_malloc(&q, n);
          } else {
            // cudaMalloc is not recorded by the capture; relaxed mode lets this thread call it while capturing.
            cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
            cudaThreadExchangeStreamCaptureMode(&mode);
            err = device_malloc(&q, n);
            cudaThreadExchangeStreamCaptureMode(&mode);
          }
          if (err == cudaErrorMemoryAllocation) {
            cudaGetLastError();
            return nullptr;
          }
          KILN_CUDA_CHECK(err);
          return q;
        },
        [this, pool_id] {
          if (pool_id == 0) release_cached();  // a capture cannot wait for the device to empty the cache
        });
    if (!p) throw_oom(requested);
    return new Block{static_cast<char*>(p), bytes, stream, small, pool_id};
  }

  /// Caller holds mu_.
  MemoryStats stats_locked() const {
    MemoryStats s = budget_.stats();
    s.num_cached_blocks = static_cast<int64_t>(small_.size() + large_.size());
    return s;
  }

  /// Returns every free, whole segment to the driver, after waiting for the device so that parked blocks are
  /// free too. Caller holds mu_.
  void release_cached() {
    if (!deferred_.empty()) {
      DeviceGuard guard(device_);
      // Every recorded event has completed after this.
      detail::wait_device(device_, detail::SyncKind::Internal, "freeing cached blocks");
      deferred_.drain([this](cudaEvent_t e) { spare_events_.push_back(e); }, [this](Block* b) { release_block(b); });
    }
    // A live graph's pool keeps its segments: the graph replays into them.
    release_whole_segments([this](const Block* b) {
      return b->pool == 0 ||
             std::find(released_pools_.begin(), released_pools_.end(), b->pool) != released_pools_.end();
    });
  }

  /// Returns the free whole segments that `which` selects to the driver, after waiting for the device. Caller
  /// holds mu_.
  template <typename Which>
  void release_whole_segments(const Which& which) {
    std::vector<Block*> whole;
    for (FreeSet* pool : {&small_, &large_})
      for (Block* b : *pool)
        if (!b->prev && !b->next && which(b)) whole.push_back(b);
    if (whole.empty()) return;  // no device sync when there is nothing to free
    DeviceGuard guard(device_);
    // Kernels queued before the host freed these blocks may still be using them.
    detail::note_host_sync(detail::SyncKind::Internal, "freeing cached blocks");
    const cudaError_t sync_err = cudaDeviceSynchronize();
    cudaError_t free_err = cudaSuccess;
    for (Block* b : whole) {
      (b->small ? small_ : large_).erase(b);
      const cudaError_t e = cudaFree(b->ptr);
      if (e != cudaSuccess && free_err == cudaSuccess) free_err = e;
      budget_.on_release(b->size);
      delete b;
    }
    KILN_CUDA_CHECK(sync_err);
    KILN_CUDA_CHECK(free_err);
  }

  /// Caller holds mu_ and has counted the OOM in budget_.
  [[noreturn]] void throw_oom(size_t requested) {
    size_t free_b = 0, total_b = 0;
    std::string name = "unknown GPU";
    {
      DeviceGuard guard(device_);
      if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) cudaGetLastError();
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, device_) == cudaSuccess)
        name = prop.name;
      else
        cudaGetLastError();
    }
    const MemoryStats s = stats_locked();
    const int64_t cached = s.reserved_bytes - s.allocated_bytes;
    const std::string limit =
        s.limit_bytes > 0 ? kiln::detail::str(" kiln's per-process limit on this GPU is ", human(s.limit_bytes),
                                              " (kiln::cuda::set_per_process_memory_fraction).")
                          : std::string();
    throw OutOfMemoryError(kiln::detail::str(
        "CUDA out of memory: tried to allocate ", human(requested), " on cuda:", device_, " (", name, ", ",
        human(total_b), " total, ", human(free_b), " free). kiln has ", human(s.allocated_bytes),
        " allocated in tensors and ", human(s.reserved_bytes), " reserved on this GPU (", human(cached),
        " of it cached but unused; cached whole segments were already returned and the allocation retried once).",
        limit,
        " To fix: reduce the batch size (kiln train --batch-size N, or --batch-size auto to find the largest that "
        "fits), run evaluation under kiln::NoGradGuard, keep the model in 16 bits (module->to(kBFloat16)), free "
        "tensors you no longer need and call kiln::cuda::empty_cache(), or check nvidia-smi for other processes "
        "using this GPU.\n",
        kiln::detail::memory_summary_table(kiln::detail::str("cuda:", device_, " (", name, ")"), s,
                                           static_cast<int64_t>(total_b))));
  }

  const int device_;
  std::mutex mu_;
  FreeSet small_, large_;
  std::unordered_map<void*, Block*> live_;
  std::vector<std::pair<cudaStream_t, uint64_t>> capture_pools_;  // streams being captured, and their graph's pool
  std::vector<uint64_t> released_pools_;                            // pools whose graph was reset
  detail::DeferredFrees<Block*, cudaEvent_t> deferred_;  // freed blocks waiting for other streams' work
  std::vector<cudaEvent_t> spare_events_;                // completed events, reused by later frees
  kiln::detail::MemoryBudget budget_;                    // counters and the per-process limit
};

/// One cache per visible device, made on first use and never destroyed: tensors held in static objects
/// may be freed during exit, after this file's statics would have been destroyed.
DeviceCache& cache(int device) {
  static auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<DeviceCache>>();
    for (int d = 0; d < device_count(); ++d) v->push_back(std::make_unique<DeviceCache>(d));
    return v;
  }();
  return *(*all)[device];
}

class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, Device device) override {
    KILN_CHECK_DEVICE(device.is_cuda(), "the CUDA caching allocator only allocates on CUDA devices, not ", device.str(),
                      "; use cpu_allocator() or pinned_allocator() for host memory");
    const int d = detail::checked_device(device.index());
    return cache(d).malloc(nbytes, detail::raw_stream_of(d));
  }

  void deallocate(void* ptr, Device device) noexcept override {
    if (!ptr) return;
    // The device recorded with the pointer is a hint: look there first, then everywhere.
    const int hint = device.index();
    if (hint >= 0 && hint < device_count() && cache(hint).free(ptr)) return;
    detail::caching_free(ptr);
  }
};
}  // namespace

void* detail::caching_malloc(size_t nbytes, int device, cudaStream_t stream) {
  return cache(checked_device(device)).malloc(nbytes, stream);
}

uint64_t detail::new_graph_pool() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
void detail::begin_allocate_to_pool(int device, cudaStream_t stream, uint64_t pool) {
  cache(checked_device(device)).begin_capture_pool(stream, pool);
}
void detail::end_allocate_to_pool(int device, cudaStream_t stream) noexcept {
  cache(device).end_capture_pool(stream);
}
void detail::release_graph_pool(int device, uint64_t pool) { cache(checked_device(device)).release_pool(pool); }

bool detail::caching_record_stream(void* ptr, const Stream& stream) {
  KILN_CHECK(!is_capturing(), "record_stream inside a CUDA-graph capture is not supported: the memory of a "
             "capture is only reused in the captured stream's order");
  return cache(checked_device(stream.device())).record_stream(ptr, raw_stream(stream));
}

void detail::caching_free(void* ptr) noexcept {
  if (!ptr) return;
  for (int d = 0; d < device_count(); ++d)
    if (cache(d).free(ptr)) return;
  // A bug in the caller (double free, or memory from elsewhere). Throwing is not allowed here.
  std::fprintf(stderr,
               "kiln: warning: CUDA caching allocator asked to free %p, which it did not allocate or "
               "already freed; ignored\n",
               ptr);
}

Allocator& caching_allocator() {
  static CachingAllocator* a = new CachingAllocator();  // never destroyed, see caches()
  return *a;
}

MemoryStats memory_stats(int device) { return cache(detail::checked_device(device)).stats(); }
int64_t memory_allocated(int device) { return memory_stats(device).allocated_bytes; }
int64_t memory_reserved(int device) { return memory_stats(device).reserved_bytes; }
int64_t max_memory_allocated(int device) { return memory_stats(device).peak_allocated_bytes; }
void reset_peak_memory_stats(int device) { cache(detail::checked_device(device)).reset_peak(); }

std::string memory_summary(int device) {
  const int d = detail::checked_device(device);
  return kiln::detail::memory_summary_table(kiln::detail::str("cuda:", d, " (", device_name(d), ")"),
                                            cache(d).stats(), static_cast<int64_t>(mem_get_info(d).second));
}

void set_per_process_memory_fraction(double fraction, int device) {
  KILN_CHECK(fraction > 0.0 && fraction <= 1.0, "set_per_process_memory_fraction: the fraction must be in (0, 1], got ",
             fraction);
  const int d = detail::checked_device(device);
  const double total = static_cast<double>(mem_get_info(d).second);
  // A fraction of 1 removes the cap: the device itself is the limit then.
  cache(d).set_limit(fraction >= 1.0 ? 0 : static_cast<int64_t>(fraction * total));
}

void empty_cache() {
  for (int d = 0; d < device_count(); ++d) cache(d).empty_cache();
}

}  // namespace kiln::cuda
