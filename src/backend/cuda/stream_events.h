// The events that guard one pinned block against reuse while queued copies use it: one per stream, re-recorded.
//
// A pinned tensor that lives long and is copied from at every step would otherwise gain an event per copy,
// collected only when it is freed. Work on a stream completes in order, so a new record on a stream makes the
// stream's older event redundant: re-recording the same event keeps at most one per stream, and recording
// also drops the events of other streams that have completed. Host logic over fake events in the CPU tests.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace kiln::cuda::detail {

template <class Stream, class Event>
class StreamEvents {
 public:
  /// After a copy on `stream`: re-records the stream's event, or makes one (`make()`); `record(e, stream)`
  /// records it. Completed events of other streams (`done(e)`) are destroyed (`destroy(e)`) on the way.
  template <class Make, class Record, class Done, class Destroy>
  void record(Stream stream, Make make, Record record, Done done, Destroy destroy) {
    bool found = false;
    for (size_t i = 0; i < entries_.size();) {
      if (entries_[i].first == stream) {
        record(entries_[i].second, stream);
        found = true;
        ++i;
      } else if (done(entries_[i].second)) {
        destroy(entries_[i].second);
        entries_[i] = entries_.back();
        entries_.pop_back();
      } else {
        ++i;
      }
    }
    if (found) return;
    Event e = make();
    entries_.emplace_back(stream, e);
    record(e, stream);
  }

  /// Destroys completed events; true when none is left (the block is safe to reuse).
  template <class Done, class Destroy>
  bool collect(Done done, Destroy destroy) {
    for (size_t i = 0; i < entries_.size();) {
      if (done(entries_[i].second)) {
        destroy(entries_[i].second);
        entries_[i] = entries_.back();
        entries_.pop_back();
      } else {
        ++i;
      }
    }
    return entries_.empty();
  }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<Stream, Event>> entries_;
};

}  // namespace kiln::cuda::detail
