// train::AmpStep: the training step with mixed precision (autocast around forward and loss, GradScaler for float16).
#pragma once
#include <memory>
#include <string>

#include "kiln/amp/grad_scaler.h"
#include "kiln/core/dtype.h"
#include "kiln/train/train_step.h"

namespace kiln::train {

/// PyTorch's AMP recipe as a step: the forward and the loss run under amp::Autocast(device, dtype); with float16
/// the loss is scaled by a GradScaler, whose step() skips a batch whose gradients overflowed and whose update()
/// moves the scale (one host wait per step, as PyTorch). bfloat16 has float32's range and needs no scaler.
/// Parameters stay float32. float16 needs a CUDA device: a CPU batch is refused with a DTypeError.
class AmpStep : public PlainStep {
 public:
  /// dtype: kFloat16 or kBFloat16 (DTypeError otherwise).
  explicit AmpStep(DType dtype, amp::GradScalerOptions scaler = {});
  DType dtype() const { return dtype_; }
  /// The loss scaler (float16), or null (bfloat16).
  amp::GradScaler* scaler() { return scaler_.get(); }
  /// The scaler's state (empty for bfloat16): checkpoints carry it so a resumed run keeps its scale.
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  StepOutput forward_loss(const StepContext& ctx, const Tensor& x, const Tensor& y) override;
  void backward(const StepContext& ctx, const Tensor& loss) override;
  void update(const StepContext& ctx) override;

 private:
  DType dtype_;
  std::unique_ptr<amp::GradScaler> scaler_;
};

/// The step for a Keras mixed-precision policy name: "float32" (PlainStep), "mixed_float16", "mixed_bfloat16".
/// Throws ValueError listing the names.
std::shared_ptr<TrainStep> step_for_policy(const std::string& policy);
}  // namespace kiln::train
