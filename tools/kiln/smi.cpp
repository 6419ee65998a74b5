// `kiln smi`: per GPU what nvidia-smi shows, through NVML loaded at run time; without NVML, says so and shows
// what the CUDA runtime knows.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gpu_status_text.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cli {
namespace {
// What the CUDA runtime knows about each visible GPU (the fallback without NVML).
nlohmann::json cuda_view() {
  nlohmann::json gpus = nlohmann::json::array();
  for (int i = 0; i < cuda::device_count(); ++i) {
    auto [free, total] = cuda::mem_get_info(i);
    gpus.push_back({{"index", i}, {"name", cuda::device_name(i)}, {"free_memory_bytes", free}, {"total_memory_bytes", total}});
  }
  nlohmann::json j = {{"available", cuda::is_available()}, {"gpus", gpus}};
  j["unavailable_reason"] = cuda::is_available() ? nlohmann::json(nullptr) : nlohmann::json(cuda::unavailable_reason());
  return j;
}

void print_human(const diag::NvmlReport& r, const nlohmann::json& cuda_j) {
  if (r.available) {
    std::cout << "NVIDIA driver " << (r.driver_version.empty() ? "(version unknown)" : r.driver_version) << ", "
              << r.gpus.size() << " GPU(s) (NVML numbering: physical, CUDA_VISIBLE_DEVICES does not apply)\n";
    for (auto& g : r.gpus) {
      auto lines = gpu_status_lines(g);
      for (size_t i = 0; i < lines.size(); ++i) std::cout << (i == 0 ? "  " : "      ") << lines[i] << "\n";
    }
    if (!r.error.empty()) std::cout << "  " << r.error << "\n";
    return;
  }
  std::cout << r.error << "\n";
  std::cout << "What the CUDA runtime knows:\n";
  if (cuda_j["gpus"].empty()) {
    std::cout << "  no GPU usable: " << cuda_j.value("unavailable_reason", std::string("unknown")) << "\n";
    return;
  }
  for (auto& g : cuda_j["gpus"])
    std::printf("  cuda:%d  %s  %.1f GiB free of %.1f GiB\n", g["index"].get<int>(), g["name"].get<std::string>().c_str(),
                g["free_memory_bytes"].get<double>() / (1 << 30), g["total_memory_bytes"].get<double>() / (1 << 30));
}
}  // namespace

void add_smi_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("smi", "Per GPU: name, bus id, memory, utilisation, temperature, power, processes (NVML)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object instead of text");
  cmd->callback([json] {
    const diag::NvmlReport r = diag::query_nvml();
    const nlohmann::json cuda_j = r.available ? nlohmann::json(nullptr) : cuda_view();
    if (*json) {
      std::cout << nlohmann::json{{"nvml", nvml_report_json(r)}, {"cuda", cuda_j}}.dump() << "\n";
    } else {
      print_human(r, cuda_j);
    }
  });
}
}  // namespace kiln::cli
