// `kiln doctor`'s chain: runs the links in the order a GPU program needs them and stops at the first broken
// one; the CPU facts are always reported.
#include "kiln/diag/doctor.h"

#include <cstdlib>
#include <functional>
#include <thread>

#include "kiln/core/threads.h"
#include "kiln/cuda/cuda.h"
#include "kiln/diag/gpu_status.h"
#include "ops/simd/vector_kernels.h"

namespace kiln::diag {
Check check_gpu_works(int index);   // gpu_smoke.cpp
Check check_gpu_memory(int index);  // gpu_smoke.cpp

namespace {
Check library_check(const char* name, const char* title, const LibraryProbe& p, const char* missing_fix) {
  Check c{name, title, CheckStatus::Ok, "", ""};
  if (p.loaded) {
    c.found = p.file + (p.version.empty() ? " (version unknown)" : " version " + p.version);
  } else {
    c.status = CheckStatus::Warn;
    c.found = "not found (" + p.error + ")";
    c.fix = missing_fix;
  }
  return c;
}

std::vector<Check> cpu_checks() {
  return {
      {"cpu_threads", "CPU threads", CheckStatus::Info,
       std::to_string(get_num_threads()) + " used by kiln, " + std::to_string(std::thread::hardware_concurrency()) +
           " hardware threads",
       ""},
      {"blas", "BLAS", CheckStatus::Info, blas_config(), ""},
      {"simd", "SIMD", CheckStatus::Info,
       cpu_simd_level() + "; kiln's vector kernels run " + ops::simd::target_name() + " (Highway)", ""},
  };
}

// The driver's folder per GPU, or NVML's count where /proc is not mounted (some containers); -1 when neither.
int physical_gpus(const std::string& gpus_dir) {
  const int n = count_physical_gpus(gpus_dir);
  if (n >= 0) return n;
  const NvmlReport nvml = query_nvml();
  return nvml.available ? static_cast<int>(nvml.gpus.size()) : -1;
}

struct Link {
  const char* name;
  const char* title;
  std::function<std::vector<Check>()> run;
};
}  // namespace

DoctorOptions doctor_options_from_environment() {
  DoctorOptions o;
  o.built_with_cuda = cuda::built_with_cuda();
  o.runtime_version = cuda::runtime_version();
  if (const char* lib = std::getenv("KILN_LIBCUDA")) o.libcuda = lib;
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) o.cuda_visible_devices = std::string(v);
  return o;
}

DoctorReport run_doctor(const DoctorOptions& o) {
  DriverProbe probe;
  std::vector<Link> chain = {
      {"build", "kiln built with CUDA", [&] { return std::vector<Check>{check_build(o.built_with_cuda)}; }},
      {"driver", "NVIDIA driver",
       [&] {
         probe = probe_driver(o.driver_version_file, o.libcuda);
         return std::vector<Check>{check_driver(probe, o.libcuda)};
       }},
      {"driver_version", "driver new enough for kiln's CUDA runtime",
       [&] { return std::vector<Check>{check_driver_version(probe, o.runtime_version)}; }},
      {"cuda_visible_devices", "CUDA_VISIBLE_DEVICES",
       [&] { return std::vector<Check>{check_visible_devices(o.cuda_visible_devices, physical_gpus(o.gpus_dir))}; }},
  };
  if (o.run_gpu_checks) {
    chain.push_back({"devices", "GPUs enumerable", [] {
                       Check c{"devices", "GPUs enumerable", CheckStatus::Ok, "", ""};
                       const int n = cuda::device_count();
                       if (n > 0) {
                         c.found = std::to_string(n) + " GPU(s) visible to the CUDA runtime";
                       } else {
                         c.status = CheckStatus::Fail;
                         c.found = "the CUDA runtime sees no GPU: " + cuda::unavailable_reason();
                         c.fix = "Check that `nvidia-smi` lists a GPU; if it does, the driver is broken for CUDA "
                                 "(look for NVRM errors in `sudo dmesg`) or a sandbox hides /dev/nvidia*.";
                       }
                       return std::vector<Check>{c};
                     }});
    chain.push_back({"gpus", "each GPU computes correctly", [] {
                       std::vector<Check> out;
                       for (int i = 0; i < cuda::device_count(); ++i) out.push_back(check_gpu_works(i));
                       return out;
                     }});
    chain.push_back({"cudnn", "cuDNN", [] {
                       return std::vector<Check>{library_check(
                           "cudnn", "cuDNN", probe_cudnn(),
                           "cuDNN 9 is needed only for convolutions on the GPU (Conv1d/Conv2d, --model cnn); install "
                           "cuDNN 9 for CUDA 13 (package cudnn9-cuda-13, or PyTorch's nvidia-cudnn wheel's lib folder on "
                           "LD_LIBRARY_PATH).")};
                     }});
    chain.push_back({"nccl", "NCCL", [] {
                       return std::vector<Check>{library_check(
                           "nccl", "NCCL", probe_nccl(),
                           "NCCL is needed only for multi-GPU training; install libnccl2 built for CUDA 13.")};
                     }});
    chain.push_back({"memory", "free GPU memory", [] {
                       std::vector<Check> out;
                       for (int i = 0; i < cuda::device_count(); ++i) out.push_back(check_gpu_memory(i));
                       return out;
                     }});
  }

  DoctorReport r;
  bool broken = false;
  for (const Link& link : chain) {
    if (broken) {
      r.gpu.push_back({link.name, link.title, CheckStatus::Skipped, "not checked: an earlier link is broken", ""});
      continue;
    }
    for (Check& c : link.run()) {
      broken = broken || c.status == CheckStatus::Fail;
      r.gpu.push_back(std::move(c));
    }
  }
  r.gpu_usable = !broken && o.run_gpu_checks;
  r.cpu = cpu_checks();
  return r;
}
}  // namespace kiln::diag
