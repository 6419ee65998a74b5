// Kernel wrappers: code that runs around every kernel call, the one place for cross-cutting checks and
// tools (profiling, the device-placement log, graph-capture checks, sync debugging).
#pragma once
#include <atomic>
#include <memory>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

namespace kiln::detail {
extern std::atomic<int> kernel_wrapper_count;
}

namespace kiln {
class Tensor;
}
namespace kiln::ops {
// The argument types describe_kernel_arg reads, declared in their families' kernel headers.
struct ElementwiseIter;
struct ReduceCall;
struct SoftmaxCall;
struct GemmParams;
struct IndexArgs;
enum class BinaryOp : int8_t;
enum class UnaryOp : int8_t;
enum class CompareOp : int8_t;
}  // namespace kiln::ops

namespace kiln::ops {

/// What a wrapper sees of a kernel call: the stub's name ("binary_stub", "reduce_stub") and the device type,
/// then what the stub's arguments say about the operands (filled only when a wrapper is installed, so a call
/// without wrappers pays nothing for them; see describe_kernel_arg below).
struct KernelCall {
  static constexpr int kMaxDTypes = 4;
  const char* op;
  DeviceType device;
  const char* detail = nullptr;  ///< the operation inside the stub ("add", "Exp", "Sum"), when the arguments name it
  int device_index = -1;         ///< the operands' device index (-1: unknown or the CPU)
  int ndtypes = 0;               ///< how many of dtypes are set
  bool first_is_output = false;  ///< dtypes[0] is the output's, the rest the inputs' (elementwise kernels)
  DType dtypes[kMaxDTypes] = {};
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

/// Fill a KernelCall from the stub's arguments: overloads for the argument types that carry a device or a dtype
/// or name the operation (src/ops/kernel_call_info.cpp); every other argument type matches the template and
/// adds nothing. A kernel's operands share one device: the front ends check it before the stub.
void describe_kernel_arg(KernelCall& call, const Tensor& t);
void describe_kernel_arg(KernelCall& call, const ElementwiseIter& it);
void describe_kernel_arg(KernelCall& call, const ReduceCall& c);
void describe_kernel_arg(KernelCall& call, const SoftmaxCall& c);
void describe_kernel_arg(KernelCall& call, const GemmParams& p);
void describe_kernel_arg(KernelCall& call, const IndexArgs& a);
void describe_kernel_arg(KernelCall& call, BinaryOp op);
void describe_kernel_arg(KernelCall& call, UnaryOp op);
void describe_kernel_arg(KernelCall& call, CompareOp op);
template <typename T>
void describe_kernel_arg(KernelCall&, const T&) {}

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
