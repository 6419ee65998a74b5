// Text and JSON forms of NVML's per-GPU status; fields NVML could not read are shown as "n/a" or null.
#include "gpu_status_text.h"

#include <cstdio>

namespace kiln::cli {
namespace {
std::string gib(long long bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / (1ll << 30));
  return buf;
}
std::string or_na(bool known, const std::string& s) { return known ? s : "n/a"; }
// NVML's "could not read" is -1 in GpuStatus; JSON says null. Integers stay integers.
template <typename T>
nlohmann::json number_or_null(T v) {
  return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v);
}
}  // namespace

std::vector<std::string> gpu_status_lines(const diag::GpuStatus& g) {
  std::vector<std::string> lines;
  lines.push_back("GPU " + std::to_string(g.index) + "  " + or_na(!g.name.empty(), g.name) + "  bus " +
                  or_na(!g.bus_id.empty(), g.bus_id));
  char buf[256];
  std::snprintf(buf, sizeof buf, "memory %s / %s GiB  utilisation %s (memory %s)  %s  power %s / %s",
                or_na(g.memory_used_bytes >= 0, gib(g.memory_used_bytes)).c_str(),
                or_na(g.memory_total_bytes >= 0, gib(g.memory_total_bytes)).c_str(),
                or_na(g.utilization_gpu_percent >= 0, std::to_string(g.utilization_gpu_percent) + "%").c_str(),
                or_na(g.utilization_memory_percent >= 0, std::to_string(g.utilization_memory_percent) + "%").c_str(),
                or_na(g.temperature_c >= 0, std::to_string(g.temperature_c) + " C").c_str(),
                or_na(g.power_w >= 0, std::to_string(static_cast<int>(g.power_w + 0.5)) + " W").c_str(),
                or_na(g.power_limit_w >= 0, std::to_string(static_cast<int>(g.power_limit_w + 0.5)) + " W").c_str());
  lines.push_back(buf);
  if (g.processes.empty()) {
    lines.push_back("processes: none");
  } else {
    std::string p = "processes:";
    for (auto& proc : g.processes)
      p += " " + std::to_string(proc.pid) + " " + or_na(!proc.name.empty(), proc.name) +
           (proc.used_memory_bytes >= 0 ? " (" + gib(proc.used_memory_bytes) + " GiB)" : "") + ";";
    p.pop_back();
    lines.push_back(p);
  }
  return lines;
}

nlohmann::json gpu_status_json(const diag::GpuStatus& g) {
  nlohmann::json procs = nlohmann::json::array();
  for (auto& p : g.processes)
    procs.push_back({{"pid", p.pid}, {"name", p.name}, {"used_memory_bytes", number_or_null(p.used_memory_bytes)}});
  return {{"index", g.index},
          {"name", g.name},
          {"uuid", g.uuid},
          {"bus_id", g.bus_id},
          {"memory_used_bytes", number_or_null(g.memory_used_bytes)},
          {"memory_total_bytes", number_or_null(g.memory_total_bytes)},
          {"utilization_gpu_percent", number_or_null(g.utilization_gpu_percent)},
          {"utilization_memory_percent", number_or_null(g.utilization_memory_percent)},
          {"temperature_c", number_or_null(g.temperature_c)},
          {"power_w", number_or_null(g.power_w)},
          {"power_limit_w", number_or_null(g.power_limit_w)},
          {"processes", procs}};
}

nlohmann::json nvml_report_json(const diag::NvmlReport& r) {
  nlohmann::json gpus = nlohmann::json::array();
  for (auto& g : r.gpus) gpus.push_back(gpu_status_json(g));
  return {{"available", r.available},
          {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
          {"library", r.library},
          {"driver_version", r.driver_version},
          {"gpus", gpus}};
}
}  // namespace kiln::cli
