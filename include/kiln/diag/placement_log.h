// The device-placement log (TensorFlow's log_device_placement): one line per kernel call naming the op,
// its device, its operands' devices and dtypes, to see where a program's work really runs.
#pragma once
#include <functional>
#include <string>

namespace kiln {

enum class PlacementLogMode {
  /// The first call of each distinct op + device + dtypes combination (a training loop logs its ops once).
  OncePerCombination,
  /// Every kernel call.
  EveryCall,
};

/// Turns the log on or off for every thread. Lines go to `sink` when given, to stderr otherwise, e.g.
///   [kiln placement] binary_stub add on cuda:0: inputs float32@cuda:0, float32@cuda:0 -> float32@cuda:0
/// Turning it on again resets the "already logged" set. Off, it costs kernel calls nothing (no wrapper is
/// installed). The environment turns it on at load time: KILN_LOG_DEVICE_PLACEMENT=1 (once per
/// combination) or KILN_LOG_DEVICE_PLACEMENT=all (every call).
void set_log_device_placement(bool on, PlacementLogMode mode = PlacementLogMode::OncePerCombination,
                              std::function<void(const std::string& line)> sink = nullptr);
bool log_device_placement();
}  // namespace kiln
