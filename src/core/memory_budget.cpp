// MemoryBudget's counters and the memory summary table shared by the CPU and CUDA allocators.
#include "core/memory_budget.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace kiln::detail {

std::string human_bytes(double bytes) {
  static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  const bool negative = bytes < 0;
  if (negative) bytes = -bytes;
  while (bytes >= 1024.0 && u < 4) bytes /= 1024.0, ++u;
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%s%.0f %s" : "%s%.2f %s", negative ? "-" : "", bytes, units[u]);
  return buf;
}

void MemoryBudget::on_reserve(size_t bytes) {
  stats_.reserved_bytes += static_cast<int64_t>(bytes);
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
  ++stats_.num_device_allocs;
}

void MemoryBudget::on_alloc(size_t bytes) {
  stats_.allocated_bytes += static_cast<int64_t>(bytes);
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  ++stats_.num_allocs;
}

namespace {
void row(std::ostringstream& os, const char* name, const std::string& current, const std::string& peak) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "| %-28s | %14s | %14s |\n", name, current.c_str(), peak.c_str());
  os << buf;
}
}  // namespace

std::string memory_summary_table(const std::string& device, const MemoryStats& s, int64_t total_bytes) {
  const std::string rule = "|" + std::string(30, '-') + "|" + std::string(16, '-') + "|" + std::string(16, '-') + "|\n";
  std::ostringstream os;
  os << "kiln memory summary, " << device << "\n" << rule;
  row(os, "", "current", "peak");
  os << rule;
  row(os, "allocated (in tensors)", human_bytes(s.allocated_bytes), human_bytes(s.peak_allocated_bytes));
  row(os, "reserved (taken from system)", human_bytes(s.reserved_bytes), human_bytes(s.peak_reserved_bytes));
  row(os, "cached (reserved, unused)", human_bytes(s.reserved_bytes - s.allocated_bytes), "");
  row(os, "cached blocks", std::to_string(s.num_cached_blocks), "");
  row(os, "limit on reserved", s.limit_bytes > 0 ? human_bytes(s.limit_bytes) : "none", "");
  row(os, "device total", total_bytes > 0 ? human_bytes(total_bytes) : "unknown", "");
  os << rule;
  row(os, "allocations", std::to_string(s.num_allocs), "");
  row(os, "system allocations", std::to_string(s.num_device_allocs), "");
  row(os, "frees", std::to_string(s.num_frees), "");
  row(os, "out-of-memory errors", std::to_string(s.num_ooms), "");
  os << rule;
  return os.str();
}
}  // namespace kiln::detail
