// Training checkpoints: a model's and an optimizer's state plus string metadata in one safetensors file.
#pragma once
#include <map>
#include <string>

#include "kiln/core/device.h"
#include "kiln/tensor/state_dict.h"

namespace kiln {
namespace nn {
class Module;
}
namespace optim {
class Optimizer;
}

/// What load_checkpoint returns: the two state dicts with their prefixes removed, and the file's metadata.
struct Checkpoint {
  StateDict model;      ///< as nn::Module::state_dict() gave it ("fc.weight", ...)
  StateDict optimizer;  ///< as optim::Optimizer::state_dict() gave it; empty when saved without an optimizer
  StateDict step;       ///< the training step's state (an AMP step's GradScaler), "step.<key>"; usually empty
  std::map<std::string, std::string> metadata;  ///< includes "format" and "kiln_version" (see kiln::save)
};

/// Saves model.state_dict() under "model.<name>" and, when optimizer is given, optimizer->state_dict() under
/// "optimizer.<key>", step_state (a train::TrainStep's) under "step.<key>", with metadata, to path as one
/// safetensors file (see kiln::save: atomic, so a checkpoint
/// already at path survives any failure; any device and dtype). The file also loads with the Python safetensors
/// package, where the keys keep their prefixes.
/// Throws IOError (naming path) when the file cannot be written, and ValueError for an undefined state tensor.
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer = nullptr,
                     const std::map<std::string, std::string>& metadata = {}, const StateDict& step_state = {});

/// Reads a checkpoint written by save_checkpoint, creating every tensor on map_location.
/// Throws DeviceError when map_location does not exist, and IOError naming path when the file is missing or
/// damaged, or holds a key with neither prefix (not a checkpoint: load plain state dicts with kiln::load).
Checkpoint load_checkpoint(const std::string& path, Device map_location = Device("cpu"));

/// Loads ckpt into model (load_state_dict(ckpt.model, strict)) and, when given, into optimizer
/// (load_state_dict(ckpt.optimizer)); values are copied onto each parameter's device and dtype.
/// Throws ValueError when optimizer is given but the checkpoint has no optimizer state, and what the
/// load_state_dict calls throw (ValueError naming missing, unexpected or mis-shaped keys). The model is loaded
/// first: if the optimizer's part then fails, the model already holds the checkpoint's values.
void restore(const Checkpoint& ckpt, nn::Module& model, optim::Optimizer* optimizer = nullptr, bool strict = true);

}  // namespace kiln
