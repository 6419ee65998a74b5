// save_checkpoint / load_checkpoint / restore: model and optimizer state dicts under prefixes in one file.
#include "kiln/io/checkpoint.h"

#include <utility>

#include "kiln/core/error.h"
#include "kiln/io/serialize.h"
#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"

namespace kiln {
namespace {

const std::string kModelPrefix = "model.";
const std::string kOptimizerPrefix = "optimizer.";
const std::string kStepPrefix = "step.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                     const std::map<std::string, std::string>& metadata, const StateDict& step_state) {
  StateDict all;
  for (auto& [name, t] : model.state_dict()) all.emplace(kModelPrefix + name, std::move(t));
  if (optimizer) {
    for (auto& [key, t] : optimizer->state_dict()) all.emplace(kOptimizerPrefix + key, std::move(t));
  }
  for (const auto& [key, t] : step_state) all.emplace(kStepPrefix + key, t);
  save(all, path, metadata);
}

Checkpoint load_checkpoint(const std::string& path, Device map_location) {
  Checkpoint ckpt;
  StateDict all = load(path, map_location, &ckpt.metadata);
  for (auto& [key, t] : all) {
    if (starts_with(key, kModelPrefix)) {
      ckpt.model.emplace(key.substr(kModelPrefix.size()), std::move(t));
    } else if (starts_with(key, kOptimizerPrefix)) {
      ckpt.optimizer.emplace(key.substr(kOptimizerPrefix.size()), std::move(t));
    } else if (starts_with(key, kStepPrefix)) {
      ckpt.step.emplace(key.substr(kStepPrefix.size()), std::move(t));
    } else {
      // The key comes from the file: quote at most 80 characters of it.
      const std::string shown = key.size() <= 80 ? key : key.substr(0, 77) + "...";
      throw IOError("load_checkpoint('" + path + "'): key '" + shown + "' starts with none of '" + kModelPrefix +
                    "', '" + kOptimizerPrefix + "' and '" + kStepPrefix +
                    "', so this is not a kiln checkpoint; a plain state dict loads with kiln::load() and "
                    "Module::load_state_dict()");
    }
  }
  return ckpt;
}

void restore(const Checkpoint& ckpt, nn::Module& model, optim::Optimizer* optimizer, bool strict) {
  // Checked before the model changes, so this mistake leaves everything as it was.
  KILN_CHECK(!optimizer || !ckpt.optimizer.empty(),
             "restore: the checkpoint holds no optimizer state (it was saved without an optimizer); pass "
             "nullptr as the optimizer to restore the model only");
  model.load_state_dict(ckpt.model, strict);
  if (optimizer) optimizer->load_state_dict(ckpt.optimizer);
}

}  // namespace kiln
