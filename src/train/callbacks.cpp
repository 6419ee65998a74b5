// The stock callbacks: early stopping, checkpoints, LR schedules and metric logs.
#include "kiln/train/callbacks.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.h"
#include "kiln/io/checkpoint.h"
#include "kiln/train/model.h"

namespace kiln::train {
namespace {
bool maximise(const std::string& monitor) { return monitor.find("acc") != std::string::npos; }

bool improved(const std::string& monitor, double value, double best, double min_delta) {
  if (std::isnan(value)) return false;
  return maximise(monitor) ? value > best + min_delta : value < best - min_delta;
}

nlohmann::json to_json(const EpochLogs& e) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"epoch", e.epoch + 1},   {"loss", num(e.loss)},
          {"accuracy", num(e.accuracy)}, {"val_loss", num(e.val_loss)},
          {"val_accuracy", num(e.val_accuracy)}, {"seconds", num(e.seconds)},
          {"samples_per_second", num(e.samples_per_second)}, {"lr", num(e.lr)}};
}

void write_text_atomic(const std::string& path, const std::string& text, const char* what) {
  io::write_file_atomic(path, text.data(), text.size(), what);
}
}  // namespace

EarlyStopping::EarlyStopping(std::string monitor, int patience, double min_delta)
    : monitor_(std::move(monitor)), patience_(patience), min_delta_(min_delta) {
  KILN_CHECK(patience >= 0, "EarlyStopping: patience must be >= 0, got ", patience);
  EpochLogs{}.get(monitor_);  // validates the name
}

void EarlyStopping::on_train_begin(Model&) {
  best_ = maximise(monitor_) ? -INFINITY : INFINITY;
  wait_ = 0;
  stopped_epoch_ = -1;
}

void EarlyStopping::on_epoch_end(Model& model, const EpochLogs& logs) {
  double v = logs.get(monitor_);
  if (improved(monitor_, v, best_, min_delta_)) {
    best_ = v;
    wait_ = 0;
  } else if (++wait_ > patience_) {
    model.stop_training = true;
    stopped_epoch_ = logs.epoch;
  }
}

ModelCheckpoint::ModelCheckpoint(std::string path, bool save_best_only, std::string monitor)
    : path_(std::move(path)), best_only_(save_best_only), monitor_(std::move(monitor)), best_(0) {
  EpochLogs{}.get(monitor_);
}

std::string epoch_logs_to_json(const EpochLogs& e) { return to_json(e).dump(); }

EpochLogs epoch_logs_from_json(const std::string& line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const std::exception& e) {
    throw IOError(std::string("not a JSON object of epoch metrics: ") + e.what());
  }
  KILN_CHECK_T(IOError, j.is_object(), "not a JSON object of epoch metrics");
  auto num = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN; };
  EpochLogs e;
  const double epoch = num("epoch");
  KILN_CHECK_T(IOError, std::isfinite(epoch) && epoch >= 1 && epoch <= 1e7, "epoch metrics without a valid 'epoch'");
  e.epoch = static_cast<int>(epoch) - 1;
  e.loss = num("loss");
  e.accuracy = num("accuracy");
  e.val_loss = num("val_loss");
  e.val_accuracy = num("val_accuracy");
  e.seconds = num("seconds");
  e.samples_per_second = num("samples_per_second");
  e.lr = num("lr");
  return e;
}

void ModelCheckpoint::on_epoch_end(Model& model, const EpochLogs& logs) {
  if (best_only_) {
    double v = logs.get(monitor_);
    if (has_best_ && !improved(monitor_, v, best_, 0.0)) return;
    if (std::isnan(v)) return;
    best_ = v;
    has_best_ = true;
  }
  auto meta = model.metadata();
  meta["epoch"] = std::to_string(logs.epoch + 1);  // epochs completed
  // The epoch's metrics travel with the weights, so a resume can restore a metrics row that a kill between
  // this save and the metrics log's write would otherwise lose. Without the timings: they differ from run to
  // run, and a deterministic run must write the same checkpoint bytes.
  EpochLogs row = logs;
  row.seconds = row.samples_per_second = NAN;
  meta["epoch_logs"] = epoch_logs_to_json(row);
  save_checkpoint(path_, model.module(), model.optimizer(), meta, model.train_step().state_dict());
}

LRSchedulerCallback::LRSchedulerCallback(std::shared_ptr<optim::LRScheduler> scheduler, bool per_batch)
    : scheduler_(std::move(scheduler)), per_batch_(per_batch) {
  KILN_CHECK(scheduler_ != nullptr, "LRSchedulerCallback: scheduler is null");
}
void LRSchedulerCallback::on_batch_end(Model&, int64_t, int64_t) {
  if (per_batch_) scheduler_->step();
}
void LRSchedulerCallback::on_epoch_end(Model&, const EpochLogs&) {
  if (!per_batch_) scheduler_->step();
}

CSVLogger::CSVLogger(std::string path, std::vector<EpochLogs> initial) : path_(std::move(path)), rows_(std::move(initial)) {}

void CSVLogger::on_epoch_end(Model&, const EpochLogs& logs) {
  rows_.push_back(logs);
  std::ostringstream os;
  os << "epoch,loss,accuracy,val_loss,val_accuracy,seconds,samples_per_second,lr\n";
  for (auto& e : rows_)
    os << e.epoch + 1 << "," << e.loss << "," << e.accuracy << "," << e.val_loss << "," << e.val_accuracy << ","
       << e.seconds << "," << e.samples_per_second << "," << e.lr << "\n";
  write_text_atomic(path_, os.str(), "CSV log");
}

JSONLinesLogger::JSONLinesLogger(std::string path, std::vector<EpochLogs> initial)
    : path_(std::move(path)), rows_(std::move(initial)) {}

void JSONLinesLogger::on_epoch_end(Model&, const EpochLogs& logs) {
  rows_.push_back(logs);
  std::string text;
  for (auto& e : rows_) text += to_json(e).dump() + "\n";
  write_text_atomic(path_, text, "metrics log");
}

std::vector<EpochLogs> JSONLinesLogger::read(const std::string& path) {
  std::vector<EpochLogs> out;
  std::ifstream in(path);
  if (!in) return out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      out.push_back(epoch_logs_from_json(line));
    } catch (const IOError& e) {
      throw IOError("metrics log '" + path + "': line " + std::to_string(n) + ": " + e.what());
    }
  }
  return out;
}
}  // namespace kiln::train
