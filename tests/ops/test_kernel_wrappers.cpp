// Kernel wrappers: every kernel call passes through them (op name and device), a refusing wrapper stops
// the kernel, and removing one restores the plain path.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/kernel_wrappers.h"

using namespace kiln;

namespace {
struct Recorder : ops::KernelWrapper {
  std::vector<std::string> before_ops, after_ops;
  std::vector<DeviceType> devices;
  void before(const ops::KernelCall& c) override {
    before_ops.push_back(c.op);
    devices.push_back(c.device);
  }
  void after(const ops::KernelCall& c) noexcept override { after_ops.push_back(c.op); }
};

struct Refuser : ops::KernelWrapper {
  void before(const ops::KernelCall& c) override {
    if (std::string(c.op) == "reduce_stub") throw std::runtime_error("refused reduce");
  }
};
}  // namespace

TEST(KernelWrappers, SeeEveryKernelCallWithItsDevice) {
  Tensor a = ones({4}), b = ones({4});
  auto rec = std::make_shared<Recorder>();
  {
    ops::ScopedKernelWrapper scope(rec);
    Tensor c = add(a, b);
    Tensor s = sum(c);
    EXPECT_EQ(s.item<float>(), 8.0f);
  }
  ASSERT_GE(rec->before_ops.size(), 2u);
  EXPECT_NE(std::find(rec->before_ops.begin(), rec->before_ops.end(), "binary_stub"), rec->before_ops.end());
  EXPECT_NE(std::find(rec->before_ops.begin(), rec->before_ops.end(), "reduce_stub"), rec->before_ops.end());
  EXPECT_EQ(rec->before_ops, rec->after_ops);
  for (DeviceType d : rec->devices) EXPECT_EQ(d, DeviceType::CPU);

  size_t seen = rec->before_ops.size();
  add(a, b);  // removed: no longer called
  EXPECT_EQ(rec->before_ops.size(), seen);
}

TEST(KernelWrappers, ARefusingWrapperStopsTheKernel) {
  Tensor a = ones({3});
  auto rec = std::make_shared<Recorder>();
  ops::ScopedKernelWrapper outer(rec);
  {
    ops::ScopedKernelWrapper refuse(std::make_shared<Refuser>());
    EXPECT_THROW(sum(a), std::runtime_error);
  }
  // The recorder (installed first) saw the refused call's before() but no after().
  EXPECT_EQ(rec->before_ops.back(), "reduce_stub");
  EXPECT_TRUE(rec->after_ops.empty() || rec->after_ops.back() != "reduce_stub");
  EXPECT_EQ(sum(a).item<float>(), 3.0f);  // the refuser is gone
}
