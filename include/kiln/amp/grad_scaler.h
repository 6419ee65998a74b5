// amp::GradScaler: dynamic loss scaling for float16 training, with torch.amp.GradScaler's semantics.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "kiln/optim/optimizer.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"

namespace kiln::amp {

/// torch.amp.GradScaler's arguments and defaults.
struct GradScalerOptions {
  KILN_ARG(double, init_scale) = 65536.0;
  KILN_ARG(double, growth_factor) = 2.0;
  KILN_ARG(double, backoff_factor) = 0.5;
  KILN_ARG(int64_t, growth_interval) = 2000;
  KILN_ARG(bool, enabled) = true;
};

/// Scales the loss so that small float16 gradients do not flush to zero, then unscales the gradients, skips the
/// optimizer step when any of them is inf or NaN, and moves the scale: halve it after an overflow, double it after
/// growth_interval clean steps. The loop is PyTorch's:
///
///     amp::GradScaler scaler;
///     scaler.scale(loss).backward();
///     scaler.unscale_(opt);                       // optional: before clipping the true gradients
///     optim::clip_grad_norm_(model->parameters(), 1.0);
///     scaler.step(opt);                           // skipped when a gradient is inf or NaN
///     scaler.update();
///
/// The scale and the overflow flags live on the loss's device, and unscaling and the overflow check are one fused
/// pass over all gradients of a device and dtype. step() reads the flag on the host (one wait per step, as PyTorch);
/// nothing else waits. bfloat16 has float32's range, so bfloat16 training needs no scaler.
/// Not thread-safe: one scaler drives one training loop.
class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  /// outputs * scale (the scale is created on outputs' device at the first call). Disabled: outputs itself.
  Tensor scale(const Tensor& outputs);
  std::vector<Tensor> scale(const std::vector<Tensor>& outputs);

  /// Divides the optimizer's gradients by the scale in place and records whether any is inf or NaN. At most once
  /// per optimizer between update() calls, and before step(). float16 gradients are refused (their parameters
  /// should be float32 master weights). Disabled: does nothing.
  void unscale_(optim::Optimizer& optimizer);
  /// Unscales (unless unscale_ already did) and runs optimizer.step() unless a gradient was inf or NaN.
  /// Returns whether the optimizer stepped. Disabled: always steps.
  bool step(optim::Optimizer& optimizer);
  /// Moves the scale from this iteration's overflow flags (of every optimizer stepped since the last update), or
  /// sets it to new_scale. Call once per iteration, after step().
  void update(std::optional<double> new_scale = std::nullopt);

  /// The current scale as a number (waits for the device); init_scale before the first scale(); 1 when disabled.
  double get_scale() const;
  /// The scale as a 0-dim float32 tensor on its device, without waiting (undefined before the first scale()).
  Tensor get_scale_async() const { return scale_; }
  double get_growth_factor() const { return options_.growth_factor(); }
  void set_growth_factor(double v);
  double get_backoff_factor() const { return options_.backoff_factor(); }
  void set_backoff_factor(double v);
  int64_t get_growth_interval() const { return options_.growth_interval(); }
  void set_growth_interval(int64_t v);
  bool is_enabled() const { return options_.enabled(); }

  /// scale, growth_factor, backoff_factor, growth_interval and _growth_tracker (torch's keys) as 0-dim CPU tensors;
  /// empty when disabled.
  StateDict state_dict() const;
  /// Restores what state_dict() wrote; refuses an empty dict (saved from a disabled scaler) and missing keys.
  void load_state_dict(const StateDict& state);

 private:
  enum class Stage { Ready, Unscaled, Stepped };
  struct OptimizerRecord {
    Stage stage = Stage::Ready;
    std::vector<std::pair<Device, Tensor>> found_inf;  // per device of the optimizer's gradients
  };
  void ensure_scale(Device device);
  void check_started(const char* method) const;

  GradScalerOptions options_;
  Tensor scale_, growth_tracker_;  // float32 and int32, 0-dim, on the device of the first scaled output
  int32_t init_growth_tracker_ = 0;  // from load_state_dict before the first scale()
  std::map<const optim::Optimizer*, OptimizerRecord> records_;
};
}  // namespace kiln::amp
