// `kiln train --gpus N`: which GPUs single-process data-parallel training uses, checked before any data is read.
#pragma once
#include <string>
#include <vector>

#include "kiln/core/device.h"

namespace kiln::cli {

/// The devices cuda:0..cuda:N-1 for `--gpus N` (nn::DataParallel over them). visible: the number of GPUs kiln
/// sees (cuda::device_count()). Throws ValueError when N < 1 or --device names the CPU or one GPU (--gpus
/// chooses the GPUs; CUDA_VISIBLE_DEVICES picks which physical ones), DeviceError when fewer than N GPUs are
/// visible, naming CUDA_VISIBLE_DEVICES.
std::vector<Device> gpus_flag_devices(int gpus, const std::string& device_flag, int visible);
}  // namespace kiln::cli
