// CUDA device queries, DeviceGuard and the CUDA error-to-exception helpers (CUDA builds only).
#include <cstdlib>
#include <string>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cublas_api.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/host_wait.h"
#include "backend/cuda/device_switch.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda {
namespace {
using ::kiln::detail::str;

struct Probe {
  int count = 0;
  std::string reason;  // empty when count > 0
};

std::string version_str(int v) { return str(v / 1000, ".", (v % 1000) / 10); }

/// Turns the error from the first runtime call into a sentence that says what is wrong and what to do.
std::string explain_init_error(cudaError_t err) {
  const std::string code = str(cudaGetErrorName(err), ": ", cudaGetErrorString(err));
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  switch (err) {
    case cudaErrorInsufficientDriver:
      // With a statically linked runtime this is also what a machine without libcuda.so reports.
      if (driver == 0)
        return str("no NVIDIA driver found (", code,
                   "): install the NVIDIA driver, or check that nvidia-smi works on this machine");
      return str("the NVIDIA driver supports CUDA ", version_str(driver), " but kiln was built with CUDA ",
                 version_str(runtime), " (", code, "): update the NVIDIA driver");
    case cudaErrorNoDevice: {
      const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
      return str("no CUDA-capable GPU found (", code, "): check nvidia-smi, and that CUDA_VISIBLE_DEVICES",
                 visible ? " (now '" + std::string(visible) + "')" : std::string(" (unset)"),
                 " names a GPU that exists");
    }
    case cudaErrorStubLibrary:
      return str("the CUDA driver library found is a stub (", code,
                 "): install the NVIDIA driver, and make sure the stub directory is not on LD_LIBRARY_PATH");
    case cudaErrorDevicesUnavailable:
      return str("all GPUs are busy or in exclusive-process mode (", code,
                 "): check nvidia-smi for other processes or the compute mode");
    case cudaErrorSystemDriverMismatch:
      return str("the NVIDIA kernel module and user-space driver versions differ (", code,
                 "): reboot, or reinstall the NVIDIA driver");
    default:
      return str("the CUDA runtime could not start (", code, "): check that nvidia-smi works");
  }
}

/// Asked once: the answer does not change while the process runs, and errors here are sticky anyway.
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();
      r.reason = explain_init_error(err);
    } else if (n == 0) {
      r.reason = "no CUDA-capable GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES";
    } else {
      r.count = n;
    }
    return r;
  }();
  return p;
}

void require_gpu() {
  if (probe().count == 0) throw DeviceError("CUDA is not available: " + probe().reason);
}

/// Throws unless `index` names a visible GPU (-1 included: callers that accept it handle it first).
int check_ordinal(int index) {
  require_gpu();
  const int n = probe().count;
  if (index < 0 || index >= n) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    throw DeviceError(str("CUDA device ordinal ", index, " is out of range: ", n, " GPU", n == 1 ? " is" : "s are",
                          " visible (valid ordinals 0..", n - 1, "); CUDA_VISIBLE_DEVICES=",
                          visible ? visible : "(unset)", " decides which GPUs this process sees"));
  }
  return index;
}

/// cuDevicePrimaryCtxGetState through the runtime's driver entry point (kiln does not link libcuda).
using PrimaryCtxGetState = int (*)(int device, unsigned int* flags, int* active);
using DeviceGet = int (*)(int* device, int ordinal);

struct DriverCalls {
  PrimaryCtxGetState get_state = nullptr;
  DeviceGet device_get = nullptr;
};

const DriverCalls& driver_calls() {
  static const DriverCalls calls = [] {
    DriverCalls c;
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult status{};
    if (cudaGetDriverEntryPointByVersion("cuDevicePrimaryCtxGetState", &fn, 12000, cudaEnableDefault, &status) ==
            cudaSuccess &&
        status == cudaDriverEntryPointSuccess)
      c.get_state = reinterpret_cast<PrimaryCtxGetState>(fn);
    fn = nullptr;
    if (cudaGetDriverEntryPointByVersion("cuDeviceGet", &fn, 12000, cudaEnableDefault, &status) == cudaSuccess &&
        status == cudaDriverEntryPointSuccess)
      c.device_get = reinterpret_cast<DeviceGet>(fn);
    cudaGetLastError();
    return c;
  }();
  return calls;
}

/// The real CUDA runtime for DeviceSwitch. Throws on errors only when asked: leave() runs in destructors.
struct RealRuntime {
  bool checked = false;
  int real() {
    int d = 0;
    if (checked) KILN_CUDA_CHECK(cudaGetDevice(&d));
    else if (cudaGetDevice(&d) != cudaSuccess) cudaGetLastError();
    return d;
  }
  void set(int d) {
    if (checked) KILN_CUDA_CHECK(cudaSetDevice(d));
    else if (cudaSetDevice(d) != cudaSuccess) cudaGetLastError();
  }
  bool has_context(int d) { return detail::has_primary_context(d); }
};

using Switch = detail::DeviceSwitch<RealRuntime>;
thread_local int pending_device = -1;  // see device_switch.h
}  // namespace

bool detail::has_primary_context(int device) {
  const DriverCalls& c = driver_calls();
  // Without the driver entry points, assume a context exists: switching back is the safe old behaviour.
  if (!c.get_state || !c.device_get) return true;
  int dev = 0;
  if (c.device_get(&dev, device) != 0) return true;
  unsigned int flags = 0;
  int active = 0;
  if (c.get_state(dev, &flags, &active) != 0) return true;
  return active != 0;
}

int detail::enter_device_noexcept(int target) noexcept {
  RealRuntime rt;
  return Switch::enter(rt, pending_device, target);
}

void detail::leave_device_noexcept(int previous) noexcept {
  RealRuntime rt;
  Switch::leave(rt, pending_device, previous);
}

int detail::device_with_context() {
  if (!is_available()) return -1;
  const int cur = current_device();
  if (has_primary_context(cur)) return cur;
  for (int d = 0; d < device_count(); ++d)
    if (has_primary_context(d)) return d;
  return -1;
}

bool is_available() { return probe().count > 0; }
int device_count() { return probe().count; }
std::string unavailable_reason() { return probe().reason; }
bool built_with_cuda() { return true; }

int detail::checked_device(int index) { return index == -1 ? current_device() : check_ordinal(index); }

int current_device() {
  require_gpu();
  if (pending_device >= 0) return pending_device;
  int d = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void set_device(int index) {
  const int target = check_ordinal(index);
  pending_device = -1;
  KILN_CUDA_CHECK(cudaSetDevice(target));
}

std::string device_name(int index) {
  cudaDeviceProp prop{};
  KILN_CUDA_CHECK(cudaGetDeviceProperties(&prop, detail::checked_device(index)));
  return prop.name;
}

std::pair<int, int> compute_capability(int index) {
  const int d = detail::checked_device(index);
  int major = 0, minor = 0;
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d));
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d));
  return {major, minor};
}

std::pair<size_t, size_t> mem_get_info(int index) {
  DeviceGuard guard(detail::checked_device(index));  // cudaMemGetInfo answers for the current device
  size_t free_b = 0, total_b = 0;
  KILN_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return {free_b, total_b};
}

int multiprocessor_count(int index) {
  int n = 0;
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, detail::checked_device(index)));
  return n;
}

int runtime_version() {
  int v = 0;
  return cudaRuntimeGetVersion(&v) == cudaSuccess ? v : 0;
}

int driver_version() {
  int v = 0;
  return cudaDriverGetVersion(&v) == cudaSuccess ? v : 0;
}

void synchronize(int index) {
  const int d = detail::checked_device(index);
  DeviceGuard guard(d);
  detail::wait_device(d, detail::SyncKind::Requested, "cuda::synchronize");
}

DeviceGuard::DeviceGuard(int index) {
  if (index == -1) return;  // "the current device": nothing to change or restore
  const int target = detail::checked_device(index);
  RealRuntime rt{/*checked=*/true};
  previous_ = Switch::enter(rt, pending_device, target);  // switches only when target differs
}

DeviceGuard::DeviceGuard(Device device) : DeviceGuard(device.is_cuda() ? device.index() : -1) {}

DeviceGuard::~DeviceGuard() {
  // Switches back only when the scope's device differs from the previous one (the scope may have called
  // set_device itself), and never creates a context on the previous device (device_switch.h). Errors cannot
  // be thrown from here; a failure would come from a context that is already broken and reports elsewhere.
  RealRuntime rt;
  Switch::leave(rt, pending_device, previous_);
}

namespace detail {

namespace {
/// What a user can do about the commonest runtime errors (empty when there is nothing general to say).
const char* hint_for(cudaError_t err) {
  switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorAssert:
    case cudaErrorMisalignedAddress:
      return " A kernel failed and the CUDA context is now unusable; rerun with CUDA_LAUNCH_BLOCKING=1 "
             "to find the kernel (errors are reported asynchronously, maybe after the faulty call).";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
      return " kiln was not compiled for this GPU; rebuild with -DKILN_CUDA_ARCHITECTURES=<your GPU's "
             "compute capability, e.g. 80 or 90>, and check that the driver is recent enough.";
    case cudaErrorInsufficientDriver:
    case cudaErrorNoDevice:
      return " No usable GPU: check nvidia-smi and CUDA_VISIBLE_DEVICES.";
    case cudaErrorInvalidDevice:
      return " The device ordinal is not valid: check CUDA_VISIBLE_DEVICES and kiln::cuda::device_count().";
    case cudaErrorLaunchOutOfResources:
      return " The kernel asked for more registers or shared memory than the GPU has; use a smaller block size.";
    default:
      return "";
  }
}
}  // namespace

void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line) {
  // Clear the (non-sticky) error so the next unrelated check does not report it again.
  cudaGetLastError();
  std::string msg = str("CUDA error ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ") in ", expr, " at ",
                        file, ":", line, ".", hint_for(err));
  if (err == cudaErrorMemoryAllocation)
    throw OutOfMemoryError(msg +
                           " The GPU is out of memory: reduce the batch size, keep the model in 16 bits "
                           "(module->to(kBFloat16)), or call kiln::cuda::empty_cache().");
  throw CudaError(msg);
}

void throw_missing_stream() {
  throw CudaError(
      "kiln internal error: a CUDA kernel's arguments carry no stream (its op's front end must fill them with "
      "ops::op_stream); please report this as a bug");
}

void throw_cublas_error(cublasStatus_t st, const char* expr, const char* file, int line) {
  std::string msg = str("cuBLAS error ", cublas().status_name(st), " (", cublas().status_string(st), ") in ", expr,
                        " at ", file, ":", line, ".");
  if (st == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfMemoryError(msg +
                           " cuBLAS could not allocate GPU memory: reduce the batch size or call "
                           "kiln::cuda::empty_cache().");
  if (st == CUBLAS_STATUS_NOT_INITIALIZED)
    msg += " cuBLAS could not start: check that a GPU is usable (kiln::cuda::unavailable_reason()).";
  if (st == CUBLAS_STATUS_ARCH_MISMATCH || st == CUBLAS_STATUS_NOT_SUPPORTED)
    msg += " This GPU or data type is not supported by the requested cuBLAS routine.";
  throw CudaError(msg);
}

}  // namespace detail
}  // namespace kiln::cuda
