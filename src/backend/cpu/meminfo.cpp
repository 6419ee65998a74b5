// The host's total and available memory, from /proc/meminfo (Linux).
#include <fstream>
#include <string>

#include "kiln/core/cpu_memory.h"

namespace kiln::cpu {
namespace {
/// The value of `key` ("MemAvailable:") in bytes, or 0 when absent.
int64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name, unit;
  int64_t value = 0;
  while (in >> name >> value) {
    std::getline(in, unit);  // " kB"
    if (name == key) return value * 1024;
  }
  return 0;
}
}  // namespace

int64_t available_memory() { return meminfo_bytes("MemAvailable:"); }
int64_t total_memory() { return meminfo_bytes("MemTotal:"); }
}  // namespace kiln::cpu
