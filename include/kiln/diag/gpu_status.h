// What `nvidia-smi` shows for each GPU (name, bus id, memory, utilisation, temperature, power, processes),
// read through NVML loaded at run time: kiln has no link dependency on it.
#pragma once
#include <string>
#include <vector>

namespace kiln::diag {

struct GpuProcess {
  unsigned pid = 0;
  std::string name;               ///< the program, from NVML or /proc/<pid>/comm
  long long used_memory_bytes = -1;  ///< -1: not reported (e.g. inside a container)
};

/// One GPU as NVML sees it. NVML numbers GPUs physically: CUDA_VISIBLE_DEVICES does not apply, so match
/// CUDA's devices by bus id. A field NVML cannot read stays at -1 (numbers) or empty (strings).
struct GpuStatus {
  int index = 0;
  std::string name, uuid, bus_id;
  long long memory_used_bytes = -1, memory_total_bytes = -1;
  int utilization_gpu_percent = -1, utilization_memory_percent = -1;
  int temperature_c = -1;
  double power_w = -1, power_limit_w = -1;
  std::vector<GpuProcess> processes;
};

struct NvmlReport {
  bool available = false;  ///< NVML loaded and initialised
  std::string error;       ///< why not: the library is missing, or nvmlInit failed (and its message)
  std::string library;     ///< the file that was loaded
  std::string driver_version;
  std::vector<GpuStatus> gpus;
};

/// Queries every GPU through `library` (default libnvidia-ml.so.1; the KILN_NVML_LIBRARY environment
/// variable overrides the default). Never throws: a missing or failing NVML is reported in the result.
NvmlReport query_nvml(const std::string& library = "");
}  // namespace kiln::diag
