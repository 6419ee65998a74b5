// `kiln info`: version, build options, CUDA runtime/driver and every visible GPU, or why none is usable.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gpu_status_text.h"
#include "kiln/diag/doctor.h"
#include "kiln/diag/gpu_status.h"
#include "kiln/core/threads.h"
#include "kiln/cuda/cuda.h"
#include "kiln/version.h"

namespace kiln::cli {
namespace {
using diag::cuda_version_string;

nlohmann::json collect_info(const diag::NvmlReport& nvml) {
  nlohmann::json j;
  j["kiln_version"] = KILN_VERSION;
  j["build"] = {{"cuda", cuda::built_with_cuda()},
                {"cuda_architectures", cuda::built_with_cuda() ? KILN_BUILD_CUDA_ARCHS : ""},
                {"blas", blas_config()},
                {"cpu_threads", get_num_threads()}};
  j["cuda_available"] = cuda::is_available();
  j["cuda_runtime_version"] = cuda_version_string(cuda::runtime_version());
  j["cuda_driver_version"] = cuda_version_string(cuda::driver_version());
  j["device_count"] = cuda::device_count();
  nlohmann::json gpus = nlohmann::json::array();
  for (int i = 0; i < cuda::device_count(); ++i) {
    auto [free, total] = cuda::mem_get_info(i);
    auto [major, minor] = cuda::compute_capability(i);
    gpus.push_back({{"index", i},
                    {"name", cuda::device_name(i)},
                    {"total_memory_bytes", total},
                    {"free_memory_bytes", free},
                    {"compute_capability", std::to_string(major) + "." + std::to_string(minor)},
                    {"multiprocessors", cuda::multiprocessor_count(i)}});
  }
  j["gpus"] = gpus;
  if (!cuda::is_available()) j["unavailable_reason"] = cuda::unavailable_reason();
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  j["cuda_visible_devices"] = visible ? nlohmann::json(visible) : nlohmann::json(nullptr);
  j["best_device"] = cuda::is_available() ? "cuda:0" : "cpu";
  j["nvml"] = nvml_report_json(nvml);  // utilisation, temperature, power, processes
  return j;
}

// NVML's live view of each GPU (physical numbering), or why it is absent.
void print_nvml(const diag::NvmlReport& nvml) {
  if (!nvml.available) {
    std::cout << "  NVML:           " << nvml.error << "\n";
    return;
  }
  std::cout << "  NVML:           driver " << nvml.driver_version << "\n";
  for (auto& g : nvml.gpus) {
    auto lines = gpu_status_lines(g);
    for (size_t i = 0; i < lines.size(); ++i) std::cout << (i == 0 ? "    " : "          ") << lines[i] << "\n";
  }
}

void print_human(const nlohmann::json& j, const diag::NvmlReport& nvml) {
  std::cout << "kiln " << j["kiln_version"].get<std::string>() << "\n";
  std::cout << "  build:          CUDA " << (j["build"]["cuda"].get<bool>() ? "on (sm " + j["build"]["cuda_architectures"].get<std::string>() + ")" : "off")
            << ", " << j["build"]["blas"].get<std::string>() << "\n";
  std::cout << "  CPU threads:    " << j["build"]["cpu_threads"].get<int>() << "\n";
  std::cout << "  CUDA runtime:   " << j["cuda_runtime_version"].get<std::string>()
            << ", driver: " << j["cuda_driver_version"].get<std::string>() << "\n";
  if (!j["cuda_visible_devices"].is_null())
    std::cout << "  CUDA_VISIBLE_DEVICES=" << j["cuda_visible_devices"].get<std::string>() << "\n";
  if (j["gpus"].empty()) {
    std::cout << "  GPUs:           none usable: " << j.value("unavailable_reason", std::string("unknown")) << "\n";
  } else {
    std::cout << "  GPUs:           " << j["gpus"].size() << "\n";
    for (auto& g : j["gpus"]) {
      double gib = static_cast<double>(g["total_memory_bytes"].get<size_t>()) / (1 << 30);
      double free_gib = static_cast<double>(g["free_memory_bytes"].get<size_t>()) / (1 << 30);
      std::printf("    cuda:%d  %s  %.1f GiB (%.1f GiB free)  compute capability %s  %d SMs\n", g["index"].get<int>(),
                  g["name"].get<std::string>().c_str(), gib, free_gib,
                  g["compute_capability"].get<std::string>().c_str(), g["multiprocessors"].get<int>());
    }
  }
  print_nvml(nvml);
  std::cout << "  best device:    " << j["best_device"].get<std::string>() << "\n";
}
}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show kiln's version, build options and the GPUs it can use");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object instead of text");
  cmd->callback([json] {
    const diag::NvmlReport nvml = diag::query_nvml();
    auto j = collect_info(nvml);
    if (*json) std::cout << j.dump() << "\n";
    else print_human(j, nvml);
  });
}
}  // namespace kiln::cli
