// Callbacks for Model::fit (Keras style): early stopping, checkpoints, LR schedules, CSV/JSON logs, progress.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/optim/schedulers.h"
#include "kiln/train/history.h"

namespace kiln::train {

class Model;

/// Hooks fit() calls in order: train_begin, (epoch_begin, batch_end..., epoch_end)..., train_end.
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Model&) {}
  virtual void on_epoch_begin(Model&, int /*epoch*/) {}
  /// After each optimizer step. batch counts from 0; num_batches is the epoch's total.
  virtual void on_batch_end(Model&, int64_t /*batch*/, int64_t /*num_batches*/) {}
  virtual void on_epoch_end(Model&, const EpochLogs&) {}
  /// Before any callback's on_epoch_end (and before the History records them), a callback may amend the
  /// epoch's logs: distributed training replaces each rank's values with the averages over the ranks.
  virtual void amend_epoch_logs(Model&, EpochLogs&) {}
  virtual void on_train_end(Model&, const History&) {}
};

/// Stops training when `monitor` has not improved by min_delta for `patience` epochs.
/// monitor: "val_loss" (default), "loss", "val_accuracy", "accuracy"; losses are minimised, accuracies maximised.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", int patience = 3, double min_delta = 0.0);
  void on_train_begin(Model&) override;
  void on_epoch_end(Model& model, const EpochLogs& logs) override;
  int stopped_epoch() const { return stopped_epoch_; }

 private:
  std::string monitor_;
  int patience_;
  double min_delta_;
  double best_ = 0;
  int wait_ = 0;
  int stopped_epoch_ = -1;
};

/// Saves model and optimizer state (safetensors, atomic) after every epoch, or only when `monitor` improves.
/// The file's metadata records the epoch and any extra metadata the Model carries (see Model::metadata()).
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, bool save_best_only = false, std::string monitor = "val_loss");
  void on_epoch_end(Model& model, const EpochLogs& logs) override;

 private:
  std::string path_;
  bool best_only_;
  std::string monitor_;
  double best_;
  bool has_best_ = false;
};

/// Steps an LR scheduler after every epoch (default) or after every batch.
class LRSchedulerCallback : public Callback {
 public:
  explicit LRSchedulerCallback(std::shared_ptr<optim::LRScheduler> scheduler, bool per_batch = false);
  void on_batch_end(Model&, int64_t, int64_t) override;
  void on_epoch_end(Model&, const EpochLogs&) override;

 private:
  std::shared_ptr<optim::LRScheduler> scheduler_;
  bool per_batch_;
};

/// Writes one row (or JSON object) per epoch; the file is rewritten atomically each epoch with every row so
/// far, so it is never half-written. `initial` rows (from a resumed run) come first.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path, std::vector<EpochLogs> initial = {});
  void on_epoch_end(Model&, const EpochLogs& logs) override;

 private:
  std::string path_;
  std::vector<EpochLogs> rows_;
};
class JSONLinesLogger : public Callback {
 public:
  explicit JSONLinesLogger(std::string path, std::vector<EpochLogs> initial = {});
  void on_epoch_end(Model&, const EpochLogs& logs) override;
  /// Reads the epochs of a metrics.jsonl written by this logger (for --resume); missing file -> empty.
  static std::vector<EpochLogs> read(const std::string& path);

 private:
  std::string path_;
  std::vector<EpochLogs> rows_;
};

/// Shows progress: a live bar (loss, accuracy, samples/s, ETA) when stdout is a terminal, one plain line per
/// epoch otherwise. Reading the running loss needs a device sync, so the bar refreshes at most 5 times a second.
class ProgressLogger : public Callback {
 public:
  /// tty: -1 detects whether stdout is a terminal.
  explicit ProgressLogger(int total_epochs, int tty = -1);
  void on_epoch_begin(Model&, int epoch) override;
  void on_batch_end(Model& model, int64_t batch, int64_t num_batches) override;
  void on_epoch_end(Model&, const EpochLogs& logs) override;

 private:
  int total_epochs_;
  bool tty_;
  double epoch_start_ = 0, last_draw_ = 0;
};
}  // namespace kiln::train
