// Front end of the fused optimizer updates (used by kiln::optim): each call updates one parameter and its
// state in place, in one fused kernel pass when the tensors allow it and with composed tensor ops otherwise.
#pragma once
#include <initializer_list>

#include "ops/optim/optim_kernels.h"

namespace kiln::ops {

/// Auto runs the fused kernel when fusable(); Composed forces the op-by-op formulas (the fallback, and the
/// reference the fused kernels are tested against).
enum class OptimPath { Auto, Composed };

/// True when param is dense (contiguous, channels-last, any order of dims) and every defined tensor has its
/// strides, dtype, device and numel: the kernels then walk them all as one flat array.
bool fusable(const Tensor& param, std::initializer_list<const Tensor*> others);

/// One Adam (or AdamW with h.decoupled) step on param, exp_avg, exp_avg_sq and, with h.amsgrad, max_exp_avg_sq.
/// grad must be on param's device with param's shape (DeviceError / ShapeError); it is cast to param's dtype.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamHyper& h, OptimPath path = OptimPath::Auto);
/// adam_step on every entry (state slots: exp_avg, exp_avg_sq, max_exp_avg_sq), all with one AdamHyper (one step
/// count). CUDA parameters the fused kernel takes go to adam_many_stub together, a few launches for the whole list
/// (per device and dtype of the first such one); every other entry takes adam_step.
void adam_step_many(const std::vector<OptimTensors>& list, const AdamHyper& h);
/// One SGD step; momentum_buffer (allocated, contents ignored when h.first_step) is used when h.momentum != 0.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdHyper& h,
              OptimPath path = OptimPath::Auto);
/// sgd_step on every entry (state slot 0: the momentum buffer), all with one SgdHyper (so one first_step flag),
/// CUDA entries in a few multi-tensor launches as adam_step_many.
void sgd_step_many(const std::vector<OptimTensors>& list, const SgdHyper& h);
/// One RMSprop step; grad_avg is used when h.centered, momentum_buffer when h.momentum > 0.
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& grad_avg,
                  const Tensor& momentum_buffer, const RmspropHyper& h, OptimPath path = OptimPath::Auto);
/// One Adagrad step with the decayed learning rate h.clr.
void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& sum, const AdagradHyper& h,
                  OptimPath path = OptimPath::Auto);
}  // namespace kiln::ops
