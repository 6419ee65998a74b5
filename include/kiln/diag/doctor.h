// `kiln doctor`: walks the chain a GPU program needs (build, driver, driver version, CUDA_VISIBLE_DEVICES,
// devices, a working allocation/kernel/cuBLAS product on each GPU, libraries, memory) and stops at the first
// broken link, saying what it found and how to fix it. Each link is a function of its inputs, so tests can
// feed the cases this machine cannot show.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace kiln::diag {

enum class CheckStatus {
  Ok,
  Fail,     ///< a broken link: the GPU path is unusable, the later links are not checked
  Warn,     ///< works, but something is missing or low (cuDNN absent, little free memory)
  Info,     ///< facts only (the CPU side)
  Skipped,  ///< not checked because an earlier link failed
};
const char* check_status_label(CheckStatus s);  ///< "OK", "FAIL", "WARN", "INFO", "SKIP"

struct Check {
  std::string name;   ///< stable key for scripts: "build", "driver", "driver_version", ...
  std::string title;  ///< what is checked, for people: "NVIDIA kernel driver"
  CheckStatus status = CheckStatus::Ok;
  std::string found;  ///< what the check found
  std::string fix;    ///< one or two sentences saying how to fix it; empty when nothing needs fixing
};

/// What the doctor looks at. Defaults are the real machine; tests replace any of them.
struct DoctorOptions {
  bool built_with_cuda = false;
  int runtime_version = 0;                                    ///< kiln's CUDA runtime, 13000-style
  std::string driver_version_file = "/proc/driver/nvidia/version";
  std::string gpus_dir = "/proc/driver/nvidia/gpus";          ///< one folder per physical GPU
  std::string libcuda = "libcuda.so.1";                       ///< the driver's user-space library
  std::optional<std::string> cuda_visible_devices;            ///< nullopt: the variable is unset
  bool run_gpu_checks = true;  ///< false: stop before touching the GPUs (enumeration, smoke tests)
};
/// The real machine: this build, /proc, libcuda.so.1 (KILN_LIBCUDA overrides the path) and the environment.
DoctorOptions doctor_options_from_environment();

struct DoctorReport {
  std::vector<Check> gpu;  ///< the chain, in order; after the first Fail every link is Skipped
  std::vector<Check> cpu;  ///< always filled: threads, BLAS, SIMD
  bool gpu_usable = false;  ///< every link of the chain passed (Warn counts as passing)
};
DoctorReport run_doctor(const DoctorOptions& options);

// ---- the links, each a function of its inputs ----

Check check_build(bool built_with_cuda);

/// What the driver looks like from user space.
struct DriverProbe {
  bool version_file_found = false;
  std::string kernel_module_version;  ///< "580.65.06", from the version file
  bool libcuda_loaded = false;
  std::string libcuda_error;          ///< dlerror() when it could not be loaded
  std::string libcuda_path;           ///< the file the loader picked, when it could be found
  std::string libcuda_version;        ///< "580.65.06" from the real file's name (libcuda.so.580.65.06), if it has one
  int cuda_version = 0;               ///< cuDriverGetVersion: the newest CUDA the driver supports, 13000-style
  int cuda_version_error = 0;         ///< cuDriverGetVersion's CUresult (34: the toolkit's stub library)
};
/// CUDA_ERROR_STUB_LIBRARY: what every call into the CUDA toolkit's link-time stub libcuda.so returns.
constexpr int kCudaErrorStubLibrary = 34;
DriverProbe probe_driver(const std::string& version_file, const std::string& libcuda);
/// "580.65.06" from a driver library's file name ("/usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06"); empty when the
/// name carries no version (libcuda.so.1 as a file, the toolkit's stub).
std::string library_file_version(const std::string& path);
/// "580.65.06" from the text of /proc/driver/nvidia/version; empty when it has no version.
std::string parse_kernel_module_version(const std::string& text);
Check check_driver(const DriverProbe& probe, const std::string& libcuda);
/// The oldest driver release that runs a CUDA runtime of this version ("580" for 13.x); "" when unknown.
std::string minimum_driver_for_runtime(int runtime_version);
Check check_driver_version(const DriverProbe& probe, int runtime_version);

/// Applies CUDA's rules to CUDA_VISIBLE_DEVICES: a comma-separated list of ordinals or GPU-/MIG- UUIDs;
/// empty or -1 hides every GPU; CUDA drops the first invalid or repeated entry and all after it.
/// physical_gpus: how many GPUs the machine has (-1 when unknown: ordinals are then not range-checked).
Check check_visible_devices(const std::optional<std::string>& value, int physical_gpus);
/// Number of physical GPUs the driver lists in gpus_dir; -1 when the folder is absent.
int count_physical_gpus(const std::string& gpus_dir);

/// A shared library loaded at run time and the version it reports.
struct LibraryProbe {
  bool loaded = false;
  std::string file;     ///< the name that loaded
  std::string version;  ///< "9.10.2"; empty when unknown
  std::string error;    ///< why none loaded
};
LibraryProbe probe_cudnn();
LibraryProbe probe_nccl();
/// "9.10.2" from cudnnGetVersion's 91002 (cuDNN 9 numbering; major*1000 + minor*100 + patch before 9).
std::string cudnn_version_string(long v);
/// "2.27.3" from ncclGetVersion's 22703 (major*1000 + minor*100 + patch before NCCL 2.9).
std::string nccl_version_string(int v);
/// "13.0" from 13000.
std::string cuda_version_string(int v);
/// The best SIMD instruction set this CPU supports ("AVX-512", "AVX2", "NEON", ...).
std::string cpu_simd_level();
}  // namespace kiln::diag
