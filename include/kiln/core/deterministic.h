// Deterministic mode (torch.use_deterministic_algorithms): every op either gives bit-identical results run to
// run on the same device, or throws naming itself.
#pragma once

namespace kiln {

/// Turns deterministic mode on or off for the whole process. On: ops that would add floating-point values
/// with GPU atomics (scatter_add, the backward of gather and index_select, embedding backward) take an
/// ordered path instead, and an op with no deterministic implementation throws NotImplemented naming it.
/// The CPU is deterministic either way for a fixed thread count.
void set_deterministic(bool on);
/// Whether deterministic mode is on (off by default).
bool is_deterministic();

namespace detail {
/// For an op with no deterministic implementation: throws NotImplemented naming `op` and `why` when
/// deterministic mode is on; does nothing otherwise.
void check_deterministic(const char* op, const char* why);
}  // namespace detail
}  // namespace kiln
