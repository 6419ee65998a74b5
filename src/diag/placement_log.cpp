// The device-placement log: a kernel wrapper that formats each call's op, device and operand dtypes.
#include "kiln/diag/placement_log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "ops/kernel_wrappers.h"

namespace kiln {
namespace {

std::string device_label(const ops::KernelCall& c) {
  std::string s = device_type_label(c.device);
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (c.device_index >= 0) s += ":" + std::to_string(c.device_index);
  return s;
}

// "[kiln placement] binary_stub add on cuda:0: inputs float32@cuda:0, float32@cuda:0 -> float32@cuda:0"
std::string format_call(const ops::KernelCall& c) {
  const std::string dev = device_label(c);
  std::string line = std::string("[kiln placement] ") + c.op;
  if (c.detail) line += std::string(" ") + c.detail;
  line += " on " + dev;
  const int first_input = c.first_is_output ? 1 : 0;
  if (c.ndtypes > first_input) {
    line += ": inputs ";
    for (int i = first_input; i < c.ndtypes; ++i) {
      if (i > first_input) line += ", ";
      line += std::string(dtype_name(c.dtypes[i])) + "@" + dev;
    }
  }
  if (c.first_is_output && c.ndtypes > 0) line += std::string(" -> ") + dtype_name(c.dtypes[0]) + "@" + dev;
  return line;
}

class PlacementLogger : public ops::KernelWrapper {
 public:
  PlacementLogger(PlacementLogMode mode, std::function<void(const std::string&)> sink)
      : mode_(mode), sink_(std::move(sink)) {}

  void before(const ops::KernelCall& call) override {
    std::string line = format_call(call);
    if (mode_ == PlacementLogMode::OncePerCombination) {
      std::lock_guard<std::mutex> lock(seen_mutex_);
      if (!seen_.insert(line).second) return;  // the line is the combination: op, device, dtypes
    }
    if (sink_) {
      sink_(line);
    } else {
      line += "\n";
      std::fputs(line.c_str(), stderr);  // one write per line, so threads do not interleave within a line
    }
  }

 private:
  PlacementLogMode mode_;
  std::function<void(const std::string&)> sink_;
  std::mutex seen_mutex_;
  std::unordered_set<std::string> seen_;
};

std::mutex state_mutex;
int installed_handle = 0;  // 0: off

bool from_environment() {
  const char* v = std::getenv("KILN_LOG_DEVICE_PLACEMENT");
  if (!v || !*v || std::strcmp(v, "0") == 0) return false;
  set_log_device_placement(true, std::strcmp(v, "all") == 0 ? PlacementLogMode::EveryCall
                                                             : PlacementLogMode::OncePerCombination);
  return true;
}
const bool env_applied = from_environment();
}  // namespace

void set_log_device_placement(bool on, PlacementLogMode mode, std::function<void(const std::string&)> sink) {
  std::lock_guard<std::mutex> lock(state_mutex);
  if (installed_handle != 0) {
    ops::remove_kernel_wrapper(installed_handle);
    installed_handle = 0;
  }
  if (on) installed_handle = ops::add_kernel_wrapper(std::make_shared<PlacementLogger>(mode, std::move(sink)));
}

bool log_device_placement() {
  std::lock_guard<std::mutex> lock(state_mutex);
  return installed_handle != 0;
}
}  // namespace kiln
