// Kernel wrappers: code that runs around every kernel call, the one place for cross-cutting checks and
// tools (profiling, the device-placement log, graph-capture checks, sync debugging).
#pragma once
#include <atomic>
#include <memory>

#include "kiln/core/device.h"

namespace kiln::detail {
extern std::atomic<int> kernel_wrapper_count;
}

namespace kiln::ops {

/// What a wrapper sees of a kernel call: the stub's name ("binary_stub", "reduce_stub") and the device type.
struct KernelCall {
  const char* op;
  DeviceType device;
};

/// Runs before and after kernels. before() may throw to refuse the call (the kernel then does not run);
/// after() runs when the kernel returned normally and must not throw.
class KernelWrapper {
 public:
  virtual ~KernelWrapper() = default;
  virtual void before(const KernelCall&) {}
  virtual void after(const KernelCall&) noexcept {}
};

/// Installs w for every kernel call on every thread until the returned handle is passed to remove.
/// Wrappers run in installation order (after() in reverse).
int add_kernel_wrapper(std::shared_ptr<KernelWrapper> w);
void remove_kernel_wrapper(int handle);

/// One relaxed load: what a kernel call pays when no wrapper is installed.
inline bool kernel_wrappers_active() { return kiln::detail::kernel_wrapper_count.load(std::memory_order_relaxed) != 0; }

/// Calls the installed wrappers' before() now and their after() when it goes out of scope normally.
class KernelWrapperScope {
 public:
  explicit KernelWrapperScope(const KernelCall& call);
  ~KernelWrapperScope();
  KernelWrapperScope(const KernelWrapperScope&) = delete;
  KernelWrapperScope& operator=(const KernelWrapperScope&) = delete;

 private:
  KernelCall call_;
  std::shared_ptr<const void> snapshot_;  // the wrapper list this call saw (stable if one is removed meanwhile)
  int entered_ = 0;                        // how many before() calls succeeded
  int uncaught_ = 0;
};

/// A wrapper installed for a scope (tests, tools).
class ScopedKernelWrapper {
 public:
  explicit ScopedKernelWrapper(std::shared_ptr<KernelWrapper> w) : handle_(add_kernel_wrapper(std::move(w))) {}
  ~ScopedKernelWrapper() { remove_kernel_wrapper(handle_); }
  ScopedKernelWrapper(const ScopedKernelWrapper&) = delete;
  ScopedKernelWrapper& operator=(const ScopedKernelWrapper&) = delete;

 private:
  int handle_;
};
}  // namespace kiln::ops
