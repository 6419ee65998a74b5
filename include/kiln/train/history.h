// What fit() records per epoch (Keras' History): losses, accuracies, timing and learning rate.
#pragma once
#include <cmath>
#include <string>
#include <vector>

namespace kiln::train {

/// One epoch's numbers. Validation fields are NaN when fit() had no validation data.
struct EpochLogs {
  int epoch = 0;                 ///< 0-based
  double loss = NAN;             ///< mean training loss over the epoch's samples
  double accuracy = NAN;         ///< training accuracy (classification losses only)
  double val_loss = NAN;
  double val_accuracy = NAN;
  double seconds = 0;            ///< wall time of the training pass
  double samples_per_second = 0;
  double lr = NAN;               ///< learning rate of the first param group at the end of the epoch
  /// The value named by a Keras-style key: "loss", "accuracy", "val_loss", "val_accuracy", "lr".
  double get(const std::string& key) const;
};

/// One metrics.jsonl line for an epoch, and back (the epoch is 1-based in the text, as `kiln train` writes it).
/// from_json throws IOError when the text is not such a line.
std::string epoch_logs_to_json(const EpochLogs& e);
EpochLogs epoch_logs_from_json(const std::string& line);

struct History {
  std::vector<EpochLogs> epochs;
  /// One value per epoch for the given key (see EpochLogs::get).
  std::vector<double> series(const std::string& key) const;
};
}  // namespace kiln::train
