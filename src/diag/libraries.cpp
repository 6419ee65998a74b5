// The doctor's library and CPU facts: cuDNN and NCCL loaded at run time (kiln does not link them), their
// versions, and the CPU's SIMD level.
#include "core/shared_library.h"
#include "kiln/diag/doctor.h"

namespace kiln::diag {
namespace {
// Loads the first of `names` that exists and returns its handle (kept loaded: reloading is cheap, and a
// library such as NCCL may already be in use by the program).
void* load_first(const std::vector<std::string>& names, LibraryProbe& p) {
  void* lib = detail::open_first_library(names, p.error, &p.file);
  p.loaded = lib != nullptr;
  return lib;
}

std::string three_part(long v, long major_unit) {
  return std::to_string(v / major_unit) + "." + std::to_string((v % major_unit) / 100) + "." + std::to_string(v % 100);
}
}  // namespace

std::string cudnn_version_string(long v) {
  if (v <= 0) return "";
  return three_part(v, v >= 90000 ? 10000 : 1000);  // cuDNN 9 changed the numbering
}

std::string nccl_version_string(int v) {
  if (v <= 0) return "";
  return three_part(v, v >= 20900 ? 10000 : 1000);  // NCCL 2.9 changed the numbering
}

LibraryProbe probe_cudnn() {
  LibraryProbe p;
  void* lib = load_first({"libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"}, p);
  if (!lib) return p;
  using GetVersion = size_t (*)();
  if (auto fn = detail::library_symbol<GetVersion>(lib, "cudnnGetVersion"))
    p.version = cudnn_version_string(static_cast<long>(fn()));
  return p;
}

LibraryProbe probe_nccl() {
  LibraryProbe p;
  void* lib = load_first({"libnccl.so.2", "libnccl.so"}, p);
  if (!lib) return p;
  using GetVersion = int (*)(int*);  // ncclResult_t ncclGetVersion(int*)
  int v = 0;
  if (auto fn = detail::library_symbol<GetVersion>(lib, "ncclGetVersion"); fn && fn(&v) == 0)
    p.version = nccl_version_string(v);
  return p;
}

std::string cpu_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "AVX-512";
  if (__builtin_cpu_supports("avx2")) return __builtin_cpu_supports("fma") ? "AVX2+FMA" : "AVX2";
  if (__builtin_cpu_supports("avx")) return "AVX";
  if (__builtin_cpu_supports("sse4.2")) return "SSE4.2";
  return "SSE2";
#elif defined(__aarch64__)
  return "NEON";
#else
  return "unknown";
#endif
}

const char* check_status_label(CheckStatus s) {
  switch (s) {
    case CheckStatus::Ok: return "OK";
    case CheckStatus::Fail: return "FAIL";
    case CheckStatus::Warn: return "WARN";
    case CheckStatus::Info: return "INFO";
    case CheckStatus::Skipped: return "SKIP";
  }
  return "?";
}
}  // namespace kiln::diag
