// CPU tests of when DeviceGuard calls cudaSetDevice (DeviceSwitch), driven by a fake runtime.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "backend/cuda/device_switch.h"

namespace {

/// Fake runtime: cudaSetDevice creates the device's context, as CUDA 12 and later do.
struct FakeRuntime {
  int device = 0;
  std::set<int> contexts;
  std::vector<int> sets;
  int real() { return device; }
  void set(int d) {
    sets.push_back(d);
    device = d;
    contexts.insert(d);
  }
  bool has_context(int d) { return contexts.count(d) != 0; }
};
using Switch = kiln::cuda::detail::DeviceSwitch<FakeRuntime>;

TEST(DeviceSwitch, GuardOnTheCurrentDeviceSetsNothing) {
  FakeRuntime rt;
  rt.contexts = {0};
  int pending = -1;
  const int prev = Switch::enter(rt, pending, 0);
  Switch::leave(rt, pending, prev);
  EXPECT_TRUE(rt.sets.empty());
  EXPECT_EQ(Switch::current(rt, pending), 0);
}

TEST(DeviceSwitch, WorkOnCuda1CreatesNoContextOnGpu0) {
  FakeRuntime rt;  // a fresh thread: device 0 current, no context anywhere
  int pending = -1;
  const int prev = Switch::enter(rt, pending, 1);
  EXPECT_EQ(rt.device, 1);
  Switch::leave(rt, pending, prev);
  EXPECT_EQ(rt.sets, (std::vector<int>{1}));
  EXPECT_EQ(rt.contexts, (std::set<int>{1})) << "switching back created a context on GPU 0";
  EXPECT_EQ(Switch::current(rt, pending), 0) << "the user still sees device 0 as current";

  // A second guard on cuda:1 needs no switch at all, and the logical device stays 0 after it.
  const int prev2 = Switch::enter(rt, pending, 1);
  EXPECT_EQ(prev2, 0);
  Switch::leave(rt, pending, prev2);
  EXPECT_EQ(rt.sets, (std::vector<int>{1}));
  EXPECT_EQ(Switch::current(rt, pending), 0);

  // Work that does go to device 0 switches for real.
  const int prev3 = Switch::enter(rt, pending, 0);
  EXPECT_EQ(rt.device, 0);
  EXPECT_EQ(pending, -1);
  Switch::leave(rt, pending, prev3);
  EXPECT_EQ(rt.sets, (std::vector<int>{1, 0}));
}

TEST(DeviceSwitch, SwitchesBackWhenThePreviousDeviceHasAContext) {
  FakeRuntime rt;
  rt.contexts = {0};
  int pending = -1;
  const int prev = Switch::enter(rt, pending, 1);
  Switch::leave(rt, pending, prev);
  EXPECT_EQ(rt.sets, (std::vector<int>{1, 0}));
  EXPECT_EQ(rt.device, 0);
  EXPECT_EQ(pending, -1);
}

TEST(DeviceSwitch, NestedGuardsRestoreInOrder) {
  FakeRuntime rt;
  rt.contexts = {0, 1, 2};
  int pending = -1;
  const int a = Switch::enter(rt, pending, 1);
  const int b = Switch::enter(rt, pending, 2);
  Switch::leave(rt, pending, b);
  EXPECT_EQ(Switch::current(rt, pending), 1);
  Switch::leave(rt, pending, a);
  EXPECT_EQ(Switch::current(rt, pending), 0);
  EXPECT_EQ(rt.sets, (std::vector<int>{1, 2, 1, 0}));
}

TEST(DeviceSwitch, ScopeThatSetsTheDeviceItselfIsRestored) {
  FakeRuntime rt;
  rt.contexts = {0};
  int pending = -1;
  const int prev = Switch::enter(rt, pending, 0);  // no switch
  rt.set(1);                                       // the scope calls set_device(1)
  Switch::leave(rt, pending, prev);
  EXPECT_EQ(rt.device, 0);
}

}  // namespace
