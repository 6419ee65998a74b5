// How `kiln smi` and `kiln info` show NVML's view of a GPU: as text lines and as JSON.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/diag/gpu_status.h"

namespace kiln::cli {
/// "NVIDIA H200  00000000:18:00.0", "memory 1.2 / 139.8 GiB  util 3% (memory 1%)  41 C  82 W / 700 W", ...
std::vector<std::string> gpu_status_lines(const diag::GpuStatus& g);
nlohmann::json gpu_status_json(const diag::GpuStatus& g);
nlohmann::json nvml_report_json(const diag::NvmlReport& r);
}  // namespace kiln::cli
