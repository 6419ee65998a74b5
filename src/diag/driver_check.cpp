// The doctor's first links: kiln built with CUDA, the NVIDIA driver present, the driver new enough.
#include <dlfcn.h>
#include <link.h>

#include <filesystem>
#include <fstream>
#include <cctype>
#include <iterator>
#include <sstream>

#include "kiln/diag/doctor.h"

namespace kiln::diag {

Check check_build(bool built_with_cuda) {
  Check c{"build", "kiln built with CUDA", CheckStatus::Ok, "", ""};
  if (built_with_cuda) {
    c.found = "this kiln contains the CUDA backend";
    return c;
  }
  c.status = CheckStatus::Fail;
  c.found = "kiln was built without CUDA: it can only use the CPU";
  c.fix = "Rebuild kiln where CMake finds nvcc (install the CUDA toolkit, or pass -DKILN_CUDA=ON "
          "-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc), and check that the configure step prints "
          "'kiln: CUDA backend ON'.";
  return c;
}

std::string parse_kernel_module_version(const std::string& text) {
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ..." (open modules say
  // "Open Kernel Module for x86_64  580.65.06 ...").
  // The version is the first word after "Kernel Module" made of digits and dots ("x86_64" is not).
  const size_t at = text.find("Kernel Module");
  if (at == std::string::npos) return "";
  std::istringstream words(text.substr(at));
  for (std::string w; words >> w;)
    if (w.find('.') != std::string::npos && w.find_first_not_of("0123456789.") == std::string::npos && std::isdigit(
            static_cast<unsigned char>(w[0])))
      return w;
  return "";
}

std::string library_file_version(const std::string& path) {
  const std::string name = path.substr(path.find_last_of('/') + 1);
  const std::string prefix = "libcuda.so.";
  if (name.rfind(prefix, 0) != 0) return "";
  const std::string v = name.substr(prefix.size());
  // "1" is the soname itself, not a driver release.
  return v.find('.') != std::string::npos && v.find_first_not_of("0123456789.") == std::string::npos ? v : "";
}

DriverProbe probe_driver(const std::string& version_file, const std::string& libcuda) {
  DriverProbe p;
  std::ifstream f(version_file);
  if (f) {
    p.version_file_found = true;
    p.kernel_module_version =
        parse_kernel_module_version(std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()));
  }
  // Kept loaded: the CUDA runtime loads the same library later, and unloading a driver library is unsafe.
  void* lib = dlopen(libcuda.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = dlerror();
    p.libcuda_error = err ? err : "unknown dlopen error";
    return p;
  }
  p.libcuda_loaded = true;
  using GetVersion = int (*)(int*);  // CUresult cuDriverGetVersion(int*): needs no cuInit
  auto get_version = reinterpret_cast<GetVersion>(dlsym(lib, "cuDriverGetVersion"));
  link_map* map = nullptr;
  if (dlinfo(lib, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) {
    p.libcuda_path = map->l_name;
    std::error_code ec;  // libcuda.so.1 is a link to libcuda.so.<release>
    p.libcuda_version = library_file_version(std::filesystem::canonical(p.libcuda_path, ec).string());
  }
  int v = 0;
  p.cuda_version_error = get_version ? get_version(&v) : -1;
  if (p.cuda_version_error == 0) p.cuda_version = v;
  return p;
}

Check check_driver(const DriverProbe& p, const std::string& libcuda) {
  Check c{"driver", "NVIDIA driver", CheckStatus::Ok, "", ""};
  const std::string module = p.version_file_found
                                 ? "kernel module " + (p.kernel_module_version.empty() ? std::string("(version unreadable)")
                                                                                       : p.kernel_module_version)
                                 : std::string("no kernel module (/proc/driver/nvidia/version absent)");
  const std::string loaded = p.libcuda_path.empty() || p.libcuda_path == libcuda ? libcuda : libcuda + " (" + p.libcuda_path + ")";
  if (p.libcuda_loaded && p.cuda_version_error == kCudaErrorStubLibrary) {
    // The toolkit's link-time stub found first on the library path: every CUDA call would fail.
    c.status = CheckStatus::Fail;
    c.found = module + "; the " + loaded + " that loads is the CUDA toolkit's stub library, made for linking only, "
              "so no real driver library is in use";
    c.fix = "Remove the toolkit's stubs folder (.../lib64/stubs) from LD_LIBRARY_PATH and from the loader's "
            "configuration; if `nvidia-smi` does not work either, install the NVIDIA driver (580 or newer for CUDA 13).";
    return c;
  }
  if (p.libcuda_loaded && !p.kernel_module_version.empty() && !p.libcuda_version.empty() &&
      p.kernel_module_version != p.libcuda_version) {
    // nvidia-smi's "Driver/library version mismatch": cuInit fails although both halves are installed.
    c.status = CheckStatus::Fail;
    c.found = "driver/library version mismatch: the loaded kernel module is " + p.kernel_module_version + " but " +
              loaded + " is " + p.libcuda_version;
    c.fix = "Reboot (after a driver upgrade the old kernel module stays loaded until then), or unload and reload the "
            "nvidia modules; reinstall the driver if the versions still differ.";
    return c;
  }
  if (p.libcuda_loaded) {
    c.found = module + "; " + loaded + (p.libcuda_version.empty() ? "" : " " + p.libcuda_version) + " loaded";
    return c;
  }
  c.status = CheckStatus::Fail;
  if (!p.version_file_found) {
    c.found = "no NVIDIA driver: /proc/driver/nvidia/version does not exist and " + libcuda +
              " cannot be loaded (" + p.libcuda_error + ")";
    c.fix = "Install the NVIDIA driver (580 or newer for CUDA 13) and reboot, or run on a machine with an NVIDIA "
            "GPU; in a container, start it with GPU access (docker run --gpus all, with the NVIDIA Container Toolkit).";
  } else {
    c.found = "the NVIDIA " + module + " is loaded but its user-space library " + libcuda +
              " cannot be loaded (" + p.libcuda_error + ")";
    c.fix = "Install the driver's user-space libraries of the same version as the kernel module (Debian: "
            "libcuda1; Ubuntu: libnvidia-compute-<version>), or in a container use the NVIDIA Container Toolkit so "
            "they are mounted; `ldconfig -p | grep libcuda` should then list it.";
  }
  return c;
}

std::string cuda_version_string(int v) {
  if (v <= 0) return "none";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string minimum_driver_for_runtime(int runtime_version) {
  // NVIDIA's minor-version compatibility: any driver of a major release runs every runtime of that major.
  switch (runtime_version / 1000) {
    case 13: return "580";
    case 12: return "525.60.13";
    case 11: return "450.80.02";
    default: return "";
  }
}

Check check_driver_version(const DriverProbe& p, int runtime_version) {
  Check c{"driver_version", "driver new enough for kiln's CUDA runtime", CheckStatus::Ok, "", ""};
  const std::string needed = minimum_driver_for_runtime(runtime_version);
  const std::string release = p.kernel_module_version.empty() ? "" : " " + p.kernel_module_version;
  const std::string need_text = needed.empty() ? "" : ", which needs driver >= " + needed;
  if (p.cuda_version <= 0) {
    c.status = CheckStatus::Fail;
    c.found = "the driver" + release + " did not report its CUDA version (cuDriverGetVersion failed); kiln's CUDA "
              "runtime is " + cuda_version_string(runtime_version) + need_text;
    c.fix = "Reinstall the NVIDIA driver: its " + (p.libcuda_path.empty() ? std::string("libcuda.so.1") : p.libcuda_path) +
            " does not answer the most basic query (error " + std::to_string(p.cuda_version_error) + ").";
    return c;
  }
  c.found = "driver" + release + " supports CUDA up to " + cuda_version_string(p.cuda_version) +
            "; kiln's CUDA runtime is " + cuda_version_string(runtime_version) + need_text;
  if (p.cuda_version / 1000 >= runtime_version / 1000) return c;
  c.status = CheckStatus::Fail;
  c.fix = "Install NVIDIA driver " + (needed.empty() ? std::string("for CUDA ") + cuda_version_string(runtime_version) : needed) +
          " or newer (data-centre GPUs can instead use the cuda-compat package of that CUDA version), or use a kiln "
          "built with a CUDA toolkit no newer than " + cuda_version_string(p.cuda_version) + ".";
  return c;
}
}  // namespace kiln::diag
