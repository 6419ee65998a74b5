// Thread-local grad mode and its scope guards.
#include "kiln/autograd/autograd.h"

namespace kiln {
namespace {
thread_local bool grad_enabled = true;
}
bool autograd::grad_mode_enabled() { return grad_enabled; }
void autograd::set_grad_mode(bool enabled) { grad_enabled = enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }
AutoGradMode::AutoGradMode(bool enabled) : previous_(grad_enabled) { grad_enabled = enabled; }
AutoGradMode::~AutoGradMode() { grad_enabled = previous_; }
}  // namespace kiln
