/* A stand-in libnvidia-ml for the tests: two GPUs with fixed readings, the second without processes, and a
   process query that first answers "buffer too small". It only mimics the NVML C API kiln's reader calls. */
#include <string.h>

typedef struct { unsigned long long total, free, used; } Memory;
typedef struct { unsigned gpu, memory; } Utilization;
typedef struct { char bus_id_legacy[16]; unsigned domain, bus, device, device_id, subsystem_id; char bus_id[32]; } PciInfo;
typedef struct { unsigned pid; unsigned long long used_memory; unsigned gpu_instance, compute_instance; } ProcessInfo;

enum { kSuccess = 0, kNotSupported = 3, kInsufficientSize = 7 };

static long gpu_of(void* handle) { return (long)handle - 1; }

int nvmlInit_v2(void) { return kSuccess; }
int nvmlShutdown(void) { return kSuccess; }
const char* nvmlErrorString(int result) { return result == kNotSupported ? "Not Supported" : "Unknown Error"; }
int nvmlSystemGetDriverVersion(char* buf, unsigned len) { strncpy(buf, "580.65.06", len); return kSuccess; }
int nvmlDeviceGetCount_v2(unsigned* count) { *count = 2; return kSuccess; }
int nvmlDeviceGetHandleByIndex_v2(unsigned index, void** handle) { *handle = (void*)(long)(index + 1); return kSuccess; }
int nvmlDeviceGetName(void* h, char* buf, unsigned len) { strncpy(buf, "NVIDIA H200", len); return kSuccess; }
int nvmlDeviceGetUUID(void* h, char* buf, unsigned len) {
  strncpy(buf, gpu_of(h) == 0 ? "GPU-00000000-1111-2222-3333-444444444444" : "GPU-55555555-6666-7777-8888-999999999999", len);
  return kSuccess;
}
int nvmlDeviceGetPciInfo_v3(void* h, PciInfo* pci) {
  strcpy(pci->bus_id, gpu_of(h) == 0 ? "00000000:18:00.0" : "00000000:2A:00.0");
  return kSuccess;
}
int nvmlDeviceGetMemoryInfo(void* h, Memory* m) {
  m->total = 141ull << 30;
  m->used = 3ull << 30;
  m->free = m->total - m->used;
  return kSuccess;
}
int nvmlDeviceGetUtilizationRates(void* h, Utilization* u) { u->gpu = 37; u->memory = 12; return kSuccess; }
int nvmlDeviceGetTemperature(void* h, int sensor, unsigned* t) { *t = 41; return kSuccess; }
int nvmlDeviceGetPowerUsage(void* h, unsigned* milliwatts) { *milliwatts = 123456; return kSuccess; }
int nvmlDeviceGetEnforcedPowerLimit(void* h, unsigned* milliwatts) { return kNotSupported; }
int nvmlDeviceGetComputeRunningProcesses_v3(void* h, unsigned* count, ProcessInfo* infos) {
  if (gpu_of(h) == 1) { *count = 0; return kSuccess; }
  if (*count < 100) { *count = 100; return kInsufficientSize; } /* makes the reader grow its buffer */
  memset(infos, 0, sizeof(ProcessInfo) * 100);
  *count = 2;
  infos[0].pid = 4242; infos[0].used_memory = 2ull << 30;
  infos[1].pid = 4343; infos[1].used_memory = ~0ull; /* NVML_VALUE_NOT_AVAILABLE */
  return kSuccess;
}
int nvmlSystemGetProcessName(unsigned pid, char* buf, unsigned len) {
  strncpy(buf, pid == 4242 ? "python3" : "", len);
  return pid == 4242 ? kSuccess : kNotSupported;
}
