// CPU tests of the pinned allocator's per-block events (StreamEvents), driven by fake streams and events.
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

#include "backend/cuda/stream_events.h"

namespace {

using Events = kiln::cuda::detail::StreamEvents<int, int>;

/// Fake GPU: events are numbered as made; one completes once the test says so.
struct FakeGpu {
  int next = 100;
  std::set<int> completed;
  std::set<int> alive;
  std::vector<std::pair<int, int>> records;  // (event, stream)

  void copy_on(Events& ev, int stream) {
    ev.record(
        stream,
        [&] {
          alive.insert(next);
          return next++;
        },
        [&](int e, int s) {
          completed.erase(e);  // a new record makes the event pending again
          records.emplace_back(e, s);
        },
        [&](int e) { return completed.count(e) != 0; }, [&](int e) { alive.erase(e); });
  }
  bool collect(Events& ev) {
    return ev.collect([&](int e) { return completed.count(e) != 0; }, [&](int e) { alive.erase(e); });
  }
};

TEST(StreamEvents, CopiesFromEveryStepKeepOneEventPerStream) {
  Events ev;
  FakeGpu gpu;
  for (int step = 0; step < 1000; ++step) gpu.copy_on(ev, 7);  // nothing ever completes
  EXPECT_EQ(ev.size(), 1u) << "a long-lived pinned tensor gained an event per copy";
  EXPECT_EQ(gpu.alive.size(), 1u);
  EXPECT_EQ(gpu.records.size(), 1000u);  // but every copy was recorded: the latest guards the block
  EXPECT_EQ(gpu.records.back(), std::make_pair(100, 7));
  gpu.copy_on(ev, 8);
  EXPECT_EQ(ev.size(), 2u);
}

TEST(StreamEvents, RecordingDropsCompletedEventsOfOtherStreams) {
  Events ev;
  FakeGpu gpu;
  gpu.copy_on(ev, 1);
  gpu.copy_on(ev, 2);
  gpu.completed.insert(100);  // stream 1's copy finished
  gpu.copy_on(ev, 3);
  EXPECT_EQ(ev.size(), 2u);
  EXPECT_EQ(gpu.alive, (std::set<int>{101, 102}));
}

TEST(StreamEvents, BlockIsFreeOnlyWhenEveryStreamsLatestCopyCompleted) {
  Events ev;
  FakeGpu gpu;
  gpu.copy_on(ev, 1);
  gpu.copy_on(ev, 2);
  EXPECT_FALSE(gpu.collect(ev));
  gpu.completed.insert(100);
  EXPECT_FALSE(gpu.collect(ev));
  gpu.copy_on(ev, 2);  // re-recorded: pending again
  gpu.completed.insert(101);
  gpu.copy_on(ev, 2);  // a newer copy on stream 2 makes its event pending again
  EXPECT_FALSE(gpu.collect(ev));
  gpu.completed.insert(101);
  EXPECT_TRUE(gpu.collect(ev));
  EXPECT_TRUE(ev.empty());
  EXPECT_TRUE(gpu.alive.empty());
}

}  // namespace
