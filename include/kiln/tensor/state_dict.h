// StateDict: named tensors, the unit of checkpoints (models, optimizers) and of safetensors files.
#pragma once
#include <map>
#include <string>

#include "kiln/tensor/tensor.h"

namespace kiln {
/// Sorted by name, like the keys of a safetensors file.
using StateDict = std::map<std::string, Tensor>;
}  // namespace kiln
