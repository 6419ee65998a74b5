// When DeviceGuard really calls cudaSetDevice: host logic over a runtime interface, so CPU tests drive it.
//
// cudaSetDevice creates the device's primary context (CUDA 12 and later), so a guard that switched back
// unconditionally would make work on cuda:1 also build a context (hundreds of MiB) on GPU 0. As in
// PyTorch (c10::cuda::MaybeSetDevice): switch only when the requested device differs from the real one, and
// on the way back, when the previous device has no context yet, remember it as the thread's logical device
// instead of switching. current_device() reports the logical device; the next switch clears it.
#pragma once

namespace kiln::cuda::detail {

/// `Runtime` provides: int real() (cudaGetDevice), void set(int) (cudaSetDevice), bool has_context(int).
/// `pending` is the thread's logical device that was not switched to (-1: none).
template <class Runtime>
struct DeviceSwitch {
  /// The device the thread's work goes to, as the user sees it.
  static int current(Runtime& rt, int& pending) { return pending >= 0 ? pending : rt.real(); }

  /// Makes `target` the device; returns the logical device to restore on leave().
  static int enter(Runtime& rt, int& pending, int target) {
    const int previous = current(rt, pending);
    if (rt.real() != target) rt.set(target);
    pending = -1;
    return previous;
  }

  /// Restores `previous` without creating a context on it: if it has none, it only becomes pending.
  static void leave(Runtime& rt, int& pending, int previous) {
    if (previous < 0) return;
    if (rt.real() == previous) {
      pending = -1;
    } else if (rt.has_context(previous)) {
      rt.set(previous);
      pending = -1;
    } else {
      pending = previous;
    }
  }
};

}  // namespace kiln::cuda::detail
