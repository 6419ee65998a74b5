// Sync counting and the sync debug mode (torch.cuda.set_sync_debug_mode).
#include "backend/cuda/host_sync.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda {
namespace {
std::atomic<int> g_mode{static_cast<int>(SyncDebugMode::Off)};
std::atomic<int64_t> g_requested{0}, g_implicit{0}, g_internal{0};
thread_local bool t_capturing = false;
}  // namespace

bool is_capturing() { return t_capturing; }

void set_sync_debug_mode(SyncDebugMode mode) { g_mode.store(static_cast<int>(mode), std::memory_order_relaxed); }
SyncDebugMode get_sync_debug_mode() { return static_cast<SyncDebugMode>(g_mode.load(std::memory_order_relaxed)); }

SyncCounts sync_counts() {
  SyncCounts c;
  c.requested = g_requested.load(std::memory_order_relaxed);
  c.implicit = g_implicit.load(std::memory_order_relaxed);
  c.internal = g_internal.load(std::memory_order_relaxed);
  return c;
}

namespace detail {
void set_capturing(bool on) { t_capturing = on; }

void note_host_sync(SyncKind kind, const char* why) {
  if (t_capturing)
    throw Error(::kiln::detail::str(
        "a CUDA graph cannot capture a host wait for the GPU, and this step waits: ", why,
        ". Keep .item(), .cpu(), printing a tensor and other reads of GPU results outside the captured code "
        "(train::GraphStep captures forward, loss, backward and the optimizer step only)"));
  switch (kind) {
    case SyncKind::Requested: g_requested.fetch_add(1, std::memory_order_relaxed); return;
    case SyncKind::Internal: g_internal.fetch_add(1, std::memory_order_relaxed); return;
    case SyncKind::Implicit: break;
  }
  const SyncDebugMode mode = get_sync_debug_mode();
  if (mode == SyncDebugMode::Error)
    throw Error(::kiln::detail::str("called a synchronizing CUDA operation: ", why,
                                    " (cuda::set_sync_debug_mode is Error; set it to Off to allow host waits)"));
  g_implicit.fetch_add(1, std::memory_order_relaxed);
  if (mode == SyncDebugMode::Warn)
    std::fprintf(stderr, "kiln: warning: called a synchronizing CUDA operation: %s (cuda::set_sync_debug_mode)\n",
                 why);
}

bool launch_blocking() {
  static const bool on = [] {
    const char* v = std::getenv("CUDA_LAUNCH_BLOCKING");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return on;
}
}  // namespace detail
}  // namespace kiln::cuda
