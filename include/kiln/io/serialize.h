// Saving and loading tensors and state dicts as safetensors files (readable by PyTorch and the safetensors package).
#pragma once
#include <map>
#include <string>

#include "kiln/core/device.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

/// Writes tensors to path as a safetensors file, atomically (the old file survives any failure).
/// Each tensor is saved as its values only: made contiguous, copied to the host, without autograd state; views
/// are saved as their own data, never the whole storage. Any dtype and device, 0-dim and empty tensors included.
/// Entries are laid out by element size, largest first, then by name (as the Python safetensors writer does), so
/// every tensor's data is aligned to its element size in the file.
/// The header's "__metadata__" holds metadata plus "format": "kiln" (unless metadata sets "format", e.g. "pt"
/// for loaders that require it) and "kiln_version": KILN_VERSION (always the writing library's version).
/// Throws ValueError naming the key of an undefined tensor, and IOError (from the file layer, naming path) for an
/// invalid name (empty, "__metadata__", not UTF-8) or a failed write.
void save(const StateDict& tensors, const std::string& path, const std::map<std::string, std::string>& metadata = {});

/// Reads a safetensors file written by kiln, PyTorch or any conforming writer; the tensors are created on
/// map_location (a contiguous copy, requires_grad false). Device("cuda") means the current GPU.
/// When metadata_out is given it receives the file's "__metadata__" strings (empty when there are none).
/// Throws DeviceError when map_location does not exist (no GPU, or an ordinal beyond the visible ones), checked
/// before the file is read, and IOError naming path for a missing, truncated or malformed file (bad header, dtype
/// kiln does not have, sizes disagreeing with the data).
StateDict load(const std::string& path, Device map_location = Device("cpu"),
               std::map<std::string, std::string>* metadata_out = nullptr);

/// Saves one tensor under the key "tensor" (see save of a StateDict).
void save(const Tensor& tensor, const std::string& path, const std::map<std::string, std::string>& metadata = {});

/// Loads the tensor stored under the key "tensor" (as written by save of one Tensor) onto map_location.
/// Throws IOError when the file has no such key (naming the keys it has), besides load's errors.
Tensor load_tensor(const std::string& path, Device map_location = Device("cpu"));

}  // namespace kiln
