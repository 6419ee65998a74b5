// `kiln train --gpus N`: the device list, or an error that says which flag or variable to change.
#include "gpus_flag.h"

#include <cstdlib>

#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cli {

std::vector<Device> gpus_flag_devices(int gpus, const std::string& device_flag, int visible) {
  KILN_CHECK(gpus >= 1, "--gpus must be at least 1, got ", gpus);
  KILN_CHECK(device_flag != "cpu", "--gpus ", gpus, " trains on cuda:0..cuda:", gpus - 1,
             " and cannot be combined with --device cpu; drop one of them");
  KILN_CHECK(device_flag == "auto" || device_flag == "cuda", "--gpus ", gpus, " trains on cuda:0..cuda:", gpus - 1,
             "; it cannot be combined with --device ", device_flag,
             " (choose the physical GPUs with CUDA_VISIBLE_DEVICES, e.g. CUDA_VISIBLE_DEVICES=2,3)");
  const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string shown =
      env != nullptr ? "CUDA_VISIBLE_DEVICES='" + std::string(env) + "'" : "CUDA_VISIBLE_DEVICES unset";
  KILN_CHECK_DEVICE(visible >= gpus, "--gpus ", gpus, " needs ", gpus, " GPUs but ", visible, " ",
                    visible == 1 ? "is" : "are", " visible (", shown, ")",
                    visible == 0 ? ": " + cuda::unavailable_reason() : std::string(),
                    "; lower --gpus, or list more GPUs in CUDA_VISIBLE_DEVICES");
  std::vector<Device> devices;
  for (int i = 0; i < gpus; ++i) devices.emplace_back(DeviceType::CUDA, i);
  return devices;
}
}  // namespace kiln::cli
