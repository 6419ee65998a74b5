// The process-wide deterministic-mode flag.
#include "kiln/core/deterministic.h"

#include <atomic>

#include "kiln/core/error.h"

namespace kiln {
namespace {
std::atomic<bool> g_deterministic{false};
}

void set_deterministic(bool on) { g_deterministic.store(on, std::memory_order_relaxed); }
bool is_deterministic() { return g_deterministic.load(std::memory_order_relaxed); }

void detail::check_deterministic(const char* op, const char* why) {
  if (!is_deterministic()) return;
  throw NotImplemented(detail::str(op, " has no deterministic implementation (", why,
                                   ") and kiln::set_deterministic(true) is on; turn it off for this op with "
                                   "kiln::set_deterministic(false), or avoid the op"));
}
}  // namespace kiln
