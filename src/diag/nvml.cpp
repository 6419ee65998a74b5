// NVML through dlopen: the handful of functions and structs `kiln smi` needs, declared here from NVML's
// documented C API (nvml.h is not needed to build, libnvidia-ml.so.1 not needed to run).
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "kiln/diag/gpu_status.h"

namespace kiln::diag {
namespace {
using nvmlReturn_t = int;  // NVML_SUCCESS = 0
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kSuccess = 0;
constexpr nvmlReturn_t kInsufficientSize = 7;  // NVML_ERROR_INSUFFICIENT_SIZE
constexpr int kTemperatureGpu = 0;            // NVML_TEMPERATURE_GPU

struct nvmlMemory_t {
  unsigned long long total, free, used;
};
struct nvmlUtilization_t {
  unsigned int gpu, memory;
};
struct nvmlPciInfo_t {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};
// nvmlProcessInfo_t as the _v2/_v3 process queries fill it.
struct nvmlProcessInfo_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
};
constexpr unsigned long long kNotAvailable = ~0ull;  // NVML_VALUE_NOT_AVAILABLE for usedGpuMemory

// The functions used, resolved once per query; a missing optional one leaves its fields unset.
struct Nvml {
  void* lib = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*error_string)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*driver_version)(char*, unsigned) = nullptr;
  nvmlReturn_t (*count)(unsigned*) = nullptr;
  nvmlReturn_t (*handle)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned) = nullptr;
  nvmlReturn_t (*pci)(nvmlDevice_t, nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*power_limit)(nvmlDevice_t, unsigned*) = nullptr;
  nvmlReturn_t (*compute_procs)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) = nullptr;
  nvmlReturn_t (*graphics_procs)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) = nullptr;
  nvmlReturn_t (*process_name)(unsigned, char*, unsigned) = nullptr;

  template <typename F>
  void resolve(F& fn, std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (void* sym = dlsym(lib, n)) {
        fn = reinterpret_cast<F>(sym);
        return;
      }
  }
  std::string message(nvmlReturn_t r) const {
    return (error_string ? error_string(r) : "NVML error") + std::string(" (code ") + std::to_string(r) + ")";
  }
};

std::string process_name(const Nvml& nvml, unsigned pid) {
  char buf[256] = {};
  if (nvml.process_name && nvml.process_name(pid, buf, sizeof buf) == kSuccess && buf[0]) return buf;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

void add_processes(const Nvml& nvml, decltype(Nvml::compute_procs) query, nvmlDevice_t dev, GpuStatus& g) {
  if (!query) return;
  std::vector<nvmlProcessInfo_t> infos(64);
  unsigned n = static_cast<unsigned>(infos.size());
  nvmlReturn_t r = query(dev, &n, infos.data());
  if (r == kInsufficientSize) {
    infos.resize(n + 16);
    n = static_cast<unsigned>(infos.size());
    r = query(dev, &n, infos.data());
  }
  if (r != kSuccess) return;
  for (unsigned i = 0; i < n && i < infos.size(); ++i) {
    bool seen = false;  // a process may use the GPU for both compute and graphics
    for (auto& p : g.processes) seen = seen || p.pid == infos[i].pid;
    if (seen) continue;
    GpuProcess p;
    p.pid = infos[i].pid;
    p.name = process_name(nvml, p.pid);
    if (infos[i].usedGpuMemory != kNotAvailable) p.used_memory_bytes = static_cast<long long>(infos[i].usedGpuMemory);
    g.processes.push_back(p);
  }
}

GpuStatus query_gpu(const Nvml& nvml, unsigned index, nvmlDevice_t dev) {
  GpuStatus g;
  g.index = static_cast<int>(index);
  char buf[128] = {};
  if (nvml.name && nvml.name(dev, buf, sizeof buf) == kSuccess) g.name = buf;
  std::memset(buf, 0, sizeof buf);
  if (nvml.uuid && nvml.uuid(dev, buf, sizeof buf) == kSuccess) g.uuid = buf;
  // Room beyond the struct: a newer NVML writing a longer struct must not overflow the stack.
  union {
    nvmlPciInfo_t info;
    char room[512];
  } pci{};
  if (nvml.pci && nvml.pci(dev, &pci.info) == kSuccess) g.bus_id = pci.info.busId;
  nvmlMemory_t mem{};
  if (nvml.memory && nvml.memory(dev, &mem) == kSuccess) {
    g.memory_total_bytes = static_cast<long long>(mem.total);
    g.memory_used_bytes = static_cast<long long>(mem.used);
  }
  nvmlUtilization_t util{};
  if (nvml.utilization && nvml.utilization(dev, &util) == kSuccess) {
    g.utilization_gpu_percent = static_cast<int>(util.gpu);
    g.utilization_memory_percent = static_cast<int>(util.memory);
  }
  unsigned v = 0;
  if (nvml.temperature && nvml.temperature(dev, kTemperatureGpu, &v) == kSuccess) g.temperature_c = static_cast<int>(v);
  if (nvml.power && nvml.power(dev, &v) == kSuccess) g.power_w = v / 1000.0;  // NVML reports milliwatts
  if (nvml.power_limit && nvml.power_limit(dev, &v) == kSuccess) g.power_limit_w = v / 1000.0;
  add_processes(nvml, nvml.compute_procs, dev, g);
  add_processes(nvml, nvml.graphics_procs, dev, g);
  return g;
}
}  // namespace

NvmlReport query_nvml(const std::string& library) {
  NvmlReport r;
  r.library = library;
  if (r.library.empty()) {
    const char* env = std::getenv("KILN_NVML_LIBRARY");
    r.library = env && *env ? env : "libnvidia-ml.so.1";
  }
  Nvml nvml;
  nvml.lib = dlopen(r.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!nvml.lib) {
    const char* err = dlerror();
    r.error = "NVML is not available: " + (err ? std::string(err) : r.library + " cannot be loaded") +
              " (it comes with the NVIDIA driver)";
    return r;
  }
  nvml.resolve(nvml.init, {"nvmlInit_v2", "nvmlInit"});
  nvml.resolve(nvml.shutdown, {"nvmlShutdown"});
  nvml.resolve(nvml.error_string, {"nvmlErrorString"});
  nvml.resolve(nvml.driver_version, {"nvmlSystemGetDriverVersion"});
  nvml.resolve(nvml.count, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
  nvml.resolve(nvml.handle, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
  nvml.resolve(nvml.name, {"nvmlDeviceGetName"});
  nvml.resolve(nvml.uuid, {"nvmlDeviceGetUUID"});
  nvml.resolve(nvml.pci, {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2"});
  nvml.resolve(nvml.memory, {"nvmlDeviceGetMemoryInfo"});
  nvml.resolve(nvml.utilization, {"nvmlDeviceGetUtilizationRates"});
  nvml.resolve(nvml.temperature, {"nvmlDeviceGetTemperature"});
  nvml.resolve(nvml.power, {"nvmlDeviceGetPowerUsage"});
  nvml.resolve(nvml.power_limit, {"nvmlDeviceGetEnforcedPowerLimit"});
  nvml.resolve(nvml.compute_procs, {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"});
  nvml.resolve(nvml.graphics_procs, {"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2"});
  nvml.resolve(nvml.process_name, {"nvmlSystemGetProcessName"});
  if (!nvml.init || !nvml.count || !nvml.handle) {
    r.error = "NVML is not usable: " + r.library + " lacks nvmlInit/nvmlDeviceGetCount";
    return r;
  }
  if (nvmlReturn_t e = nvml.init(); e != kSuccess) {
    r.error = "NVML did not initialise: " + nvml.message(e);
    return r;
  }
  r.available = true;
  char version[96] = {};
  if (nvml.driver_version && nvml.driver_version(version, sizeof version) == kSuccess) r.driver_version = version;
  unsigned n = 0;
  if (nvmlReturn_t e = nvml.count(&n); e != kSuccess) r.error = "NVML could not count the GPUs: " + nvml.message(e);
  for (unsigned i = 0; i < n; ++i) {
    nvmlDevice_t dev = nullptr;
    if (nvml.handle(i, &dev) == kSuccess) r.gpus.push_back(query_gpu(nvml, i, dev));
  }
  if (nvml.shutdown) nvml.shutdown();
  return r;
}
}  // namespace kiln::diag
