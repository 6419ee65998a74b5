// The bookkeeping of record_stream for the CUDA caching allocator, as plain C++ so CPU tests can drive it.
//
// A block used on streams other than its allocation stream (Tensor::record_stream) cannot go back to its pool
// when the host frees it: kernels queued on those streams may still read or write it, and the pool only orders
// reuse on the allocation stream. So at free time the allocator records one event on each such stream and hands
// the block and its events to DeferredFrees; the block returns to its pool once every one of its events has
// completed. Block, Stream and Event are template parameters (Block*, cudaStream_t, cudaEvent_t in the
// allocator; plain integers in the tests), and the event queries are callbacks, so nothing here needs a GPU.
#pragma once
#include <algorithm>
#include <cstddef>
#include <deque>
#include <unordered_map>
#include <vector>

namespace kiln::cuda::detail {

/// Adds `stream` to a block's `uses` unless it is `own` (the allocation stream, whose work the pool already
/// orders) or is there already. Returns whether it was added.
template <typename Stream>
bool add_stream_use(std::vector<Stream>& uses, const Stream& own, const Stream& stream) {
  if (stream == own || std::find(uses.begin(), uses.end(), stream) != uses.end()) return false;
  uses.push_back(stream);
  return true;
}

/// Freed blocks held back until events recorded at free time have completed. Not thread-safe: the allocator
/// calls it under its own lock.
template <typename Block, typename Event>
class DeferredFrees {
 public:
  /// Holds `block` until every event in `events` has completed. Requires `block` not held already. With no
  /// events nothing is held: the caller returns the block to its pool itself.
  void defer(const Block& block, const std::vector<Event>& events) {
    if (events.empty()) return;
    for (const Event& e : events) queue_.push_back(Entry{e, block});
    remaining_[block] += events.size();
  }

  /// Checks the events oldest first without waiting: done(e) answers whether e has completed. Each completed
  /// event goes to recycle(e) and each block whose last event completed to release(block), in that order.
  /// Stops at the first event not done yet, as PyTorch does, so a call costs O(1) queries amortised; a block
  /// behind it whose own events are done just waits a little longer. If done() throws, that event and every
  /// later one stay queued.
  template <typename Done, typename Recycle, typename Release>
  void collect(Done&& done, Recycle&& recycle, Release&& release) {
    while (!queue_.empty() && done(queue_.front().event)) pop_front(recycle, release);
  }

  /// Treats every queued event as completed; for a caller that has just waited for the whole device.
  template <typename Recycle, typename Release>
  void drain(Recycle&& recycle, Release&& release) {
    while (!queue_.empty()) pop_front(recycle, release);
  }

  bool empty() const { return queue_.empty(); }
  /// Blocks held back.
  size_t blocks() const { return remaining_.size(); }
  /// Events not known to have completed.
  size_t events() const { return queue_.size(); }
  bool holds(const Block& block) const { return remaining_.count(block) != 0; }

 private:
  struct Entry {
    Event event;
    Block block;
  };

  template <typename Recycle, typename Release>
  void pop_front(Recycle& recycle, Release& release) {
    const Entry e = queue_.front();
    queue_.pop_front();
    recycle(e.event);
    auto it = remaining_.find(e.block);
    if (--it->second == 0) {
      remaining_.erase(it);
      release(e.block);
    }
  }

  std::deque<Entry> queue_;                     // in the order the events were recorded
  std::unordered_map<Block, size_t> remaining_;  // events still queued per held block
};
}  // namespace kiln::cuda::detail
