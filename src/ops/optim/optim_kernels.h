// Dispatch stubs of the fused optimizer updates: one pass over a parameter, its gradient and its state.
// Kernels require every defined tensor contiguous, of the parameter's dtype, numel and device
// (fused_step.cpp checks this and falls back to composed ops otherwise). Each stub's last argument is the stream
// the CUDA kernel runs on (ops::op_stream of the parameter's device; null for the CPU).
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/cuda/cuda.h"
#include "kiln/tensor/tensor.h"
#include "ops/dispatch.h"

namespace kiln::ops {

/// Adam / AdamW hyper-parameters for one step; bias corrections are folded in on the host (step is a host count).
struct AdamHyper {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step_size = 0;              // lr / (1 - beta1^step)
  double bias_correction2_sqrt = 1;  // sqrt(1 - beta2^step)
  double decay = 1;                  // AdamW's 1 - lr * weight_decay
  bool amsgrad = false;
  bool decoupled = false;            // AdamW: decay the parameter instead of adding wd * p to the gradient
  /// CUDA graphs (graph_hyper.h): device {step_size, bias_correction2_sqrt, decay} that the multi-tensor kernel
  /// reads instead of the values above; null otherwise.
  const double* live = nullptr;
};

struct SgdHyper {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // the momentum buffer is uninitialised and becomes the gradient (torch's rule)
  /// CUDA graphs (graph_hyper.h): device {lr} that the multi-tensor kernel reads instead of lr; null otherwise.
  const double* live = nullptr;
};

struct RmspropHyper {
  double lr = 0, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false;
};

struct AdagradHyper {
  double clr = 0;  // lr / (1 + (step - 1) * lr_decay)
  double eps = 1e-10, weight_decay = 0;
};

/// The tensors of one parameter's fused update: the parameter, its gradient and up to three state slots (in the
/// per-parameter stub's order; undefined when unused).
struct OptimTensors {
  Tensor param, grad;
  Tensor state[3];
};

/// max_exp_avg_sq is undefined unless amsgrad.
KILN_DECLARE_DISPATCH(adam_step_stub, void (*)(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                                               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                                               const AdamHyper& h, cuda::Stream stream));
/// Adam over many parameters of one device and dtype sharing `h` (one step count), each as adam_step_stub takes
/// it: a few launches for the whole list (PyTorch's multi_tensor_apply, as its fused/foreach Adam). CUDA only:
/// the CPU's per-parameter kernel already streams at memory bandwidth.
KILN_DECLARE_DISPATCH(adam_many_stub,
                      void (*)(const std::vector<OptimTensors>& list, const AdamHyper& h, cuda::Stream stream));
/// momentum_buffer is undefined when momentum == 0.
KILN_DECLARE_DISPATCH(sgd_step_stub, void (*)(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                                              const SgdHyper& h, cuda::Stream stream));
/// SGD over many parameters of one device and dtype sharing `h`, as adam_many_stub (CUDA only).
KILN_DECLARE_DISPATCH(sgd_many_stub,
                      void (*)(const std::vector<OptimTensors>& list, const SgdHyper& h, cuda::Stream stream));
/// grad_avg is undefined unless centered, momentum_buffer unless momentum > 0.
KILN_DECLARE_DISPATCH(rmsprop_step_stub, void (*)(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                                                  const Tensor& grad_avg, const Tensor& momentum_buffer,
                                                  const RmspropHyper& h, cuda::Stream stream));
KILN_DECLARE_DISPATCH(adagrad_step_stub, void (*)(const Tensor& param, const Tensor& grad, const Tensor& sum,
                                                  const AdagradHyper& h, cuda::Stream stream));
}  // namespace kiln::ops
