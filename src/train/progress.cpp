// ProgressLogger: a live progress bar on a terminal, plain per-epoch lines otherwise.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "kiln/train/callbacks.h"
#include "kiln/train/model.h"

namespace kiln::train {
namespace {
double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
std::string format_eta(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%d:%02d", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return buf;
}
}  // namespace

ProgressLogger::ProgressLogger(int total_epochs, int tty)
    : total_epochs_(total_epochs), tty_(tty < 0 ? isatty(STDOUT_FILENO) != 0 : tty != 0) {}

void ProgressLogger::on_epoch_begin(Model&, int) {
  epoch_start_ = now_seconds();
  last_draw_ = 0;
}

void ProgressLogger::on_batch_end(Model& model, int64_t batch, int64_t num_batches) {
  if (!tty_) return;
  double t = now_seconds();
  bool last = batch + 1 == num_batches;
  if (!last && t - last_draw_ < 0.2) return;
  last_draw_ = t;
  double elapsed = t - epoch_start_;
  double frac = num_batches ? static_cast<double>(batch + 1) / static_cast<double>(num_batches) : 1.0;
  double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  int width = 30, filled = static_cast<int>(frac * width);
  std::string bar = std::string(filled, '=') + (filled < width ? ">" : "") + std::string(std::max(0, width - filled - 1), ' ');
  double acc = model.running_accuracy();
  std::printf("\r%5lld/%lld [%s] loss %.4f", static_cast<long long>(batch + 1), static_cast<long long>(num_batches),
              bar.c_str(), model.running_loss());
  if (!std::isnan(acc)) std::printf(" acc %.4f", acc);
  std::printf(" %.0f samples/s ETA %s  ", elapsed > 0 ? static_cast<double>(model.samples_seen()) / elapsed : 0.0,
              format_eta(eta).c_str());
  std::fflush(stdout);
}

void ProgressLogger::on_epoch_end(Model&, const EpochLogs& e) {
  if (tty_) std::printf("\r\033[K");
  std::printf("epoch %d/%d  loss %.4f", e.epoch + 1, total_epochs_, e.loss);
  if (!std::isnan(e.accuracy)) std::printf("  acc %.4f", e.accuracy);
  if (!std::isnan(e.val_loss)) std::printf("  val_loss %.4f", e.val_loss);
  if (!std::isnan(e.val_accuracy)) std::printf("  val_acc %.4f", e.val_accuracy);
  std::printf("  %.2fs  %.0f samples/s\n", e.seconds, e.samples_per_second);
  std::fflush(stdout);
}
}  // namespace kiln::train
