// train::AmpStep: autocast around forward and loss, loss scaling for float16, and the Keras policy names.
#include "kiln/train/amp_step.h"

#include "kiln/amp/autocast.h"
#include "kiln/core/error.h"

namespace kiln::train {

AmpStep::AmpStep(DType dtype, amp::GradScalerOptions scaler) : dtype_(dtype) {
  KILN_CHECK_DTYPE(dtype == kFloat16 || dtype == kBFloat16, "AmpStep: dtype must be float16 or bfloat16, got ",
                   dtype_name(dtype));
  if (dtype == kFloat16) scaler_ = std::make_unique<amp::GradScaler>(scaler);
}

StepOutput AmpStep::forward_loss(const StepContext& ctx, const Tensor& x, const Tensor& y) {
  const DeviceType device = x.device().type();
  KILN_CHECK_DTYPE(dtype_ != kFloat16 || device == DeviceType::CUDA,
                   "float16 mixed precision needs a CUDA device (the CPU has no float16 arithmetic to gain from); "
                   "use bfloat16 on the CPU");
  amp::Autocast autocast(device, dtype_);
  return PlainStep::forward_loss(ctx, x, y);
}

void AmpStep::backward(const StepContext& ctx, const Tensor& loss) {
  if (scaler_) scaler_->scale(loss).backward();
  else PlainStep::backward(ctx, loss);
}

void AmpStep::update(const StepContext& ctx) {
  if (!scaler_) return PlainStep::update(ctx);
  scaler_->step(ctx.optimizer);
  scaler_->update();
}

StateDict AmpStep::state_dict() const { return scaler_ ? scaler_->state_dict() : StateDict{}; }

void AmpStep::load_state_dict(const StateDict& state) {
  if (scaler_) scaler_->load_state_dict(state);
  else TrainStep::load_state_dict(state);
}

std::shared_ptr<TrainStep> step_for_policy(const std::string& policy) {
  if (policy == "float32") return std::make_shared<PlainStep>();
  if (policy == "mixed_float16") return std::make_shared<AmpStep>(kFloat16);
  if (policy == "mixed_bfloat16") return std::make_shared<AmpStep>(kBFloat16);
  throw ValueError("unknown mixed-precision policy '" + policy.substr(0, 40) +
                   "'; expected float32, mixed_float16 or mixed_bfloat16 (Keras's names)");
}
}  // namespace kiln::train
