// Front end of the fused optimizer updates: argument checks, then the fused kernel, or the same formulas
// as composed tensor ops (in torch's order) when a tensor is not dense in the parameter's layout or has another
// dtype.
#include "ops/optim/fused_step.h"

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/cuda/cuda.h"
#include "ops/op_stream.h"
#include "ops/optim/graph_hyper.h"
#include "tensor/layout.h"

namespace kiln::ops {
KILN_DEFINE_DISPATCH(adam_step_stub);
KILN_DEFINE_DISPATCH(adam_many_stub);
KILN_DEFINE_DISPATCH(sgd_step_stub);
KILN_DEFINE_DISPATCH(sgd_many_stub);
KILN_DEFINE_DISPATCH(rmsprop_step_stub);
KILN_DEFINE_DISPATCH(adagrad_step_stub);

namespace {
const Tensor kNoTensor;

// The gradient as the update needs it: on the parameter's device, of its shape, cast to its dtype.
Tensor checked_grad(const Tensor& param, const Tensor& grad, const char* op) {
  KILN_CHECK(param.defined() && grad.defined(), op, ": the parameter or its gradient is undefined");
  KILN_CHECK_DTYPE(param.is_floating_point(), op, ": only floating-point parameters can be optimised; got ",
                   param.dtype());
  KILN_CHECK_DEVICE(grad.device() == param.device(), op, ": the parameter is on ", param.device(),
                    " but its gradient is on ", grad.device(), "; move them to the same device");
  KILN_CHECK_SHAPE(grad.sizes() == param.sizes(), op, ": the parameter has shape ", param.shape_str(),
                   " but its gradient has shape ", grad.shape_str());
  return grad.dtype() == param.dtype() ? grad : grad.to(param.dtype());
}

void check_state(const Tensor& t, const char* op, const char* name) {
  KILN_CHECK(t.defined(), op, ": the state buffer '", name, "' is undefined");
}

// Kernels write through raw pointers, so bump the versions that ops would have bumped: autograd then
// refuses a backward through a graph that saved the old values.
void mark_written(std::initializer_list<const Tensor*> ts, const char* op) {
  for (const Tensor* t : ts)
    if (t->defined()) autograd::check_inplace(*t, op, false);
}

// Runs the fused kernel when the layout allows it; returns false to ask for the composed path.
template <typename Launch>
bool try_fused(OptimPath path, const Tensor& param, Tensor& g, std::initializer_list<const Tensor*> state,
               const char* op, const Launch& launch) {
  if (path != OptimPath::Auto || !fusable(param, state)) {
    // The composed formulas take the step's values as host scalars, which a replay would repeat.
    KILN_CHECK(graph_phase() != GraphPhase::Capturing, op, ": a parameter of shape ", param.shape_str(),
               " whose state or gradient is not dense in its layout (or has another dtype) cannot be updated "
               "inside a CUDA graph");
    return false;
  }
  if (g.strides() != param.strides()) g = empty_like(param).copy_(g);  // the gradient in the parameter's layout
  mark_written({&param}, op);
  mark_written(state, op);
  launch(g);
  return true;
}

// An update outside train::GraphStep's capture must not be captured: its step size is a kernel argument.
void check_not_captured(const char* op) {
  KILN_CHECK(!cuda::is_capturing(), op,
             " inside a CUDA graph needs train::GraphStep, which keeps the step's learning rate and step count in "
             "device memory; captured on its own, a replay would repeat the captured step size");
}

// The many-parameter form of a step: CUDA entries of the first such entry's device and dtype go through
// collect(t, batch), which runs the step's checks and appends what the fused kernel takes (or falls back to the
// composed formulas), and then to one multi-tensor launch(batch, stream, live); every other entry takes single(t).
// Under train::GraphStep (graph_hyper.h): while capturing, every entry must join the launch, whose kernel reads the
// step's `values` from a device buffer (`live`); while preparing a replay, only those values are uploaded.
template <typename Single, typename Collect, typename Launch>
void step_many(const char* op, const std::vector<OptimTensors>& list, const std::vector<double>& values,
               const Single& single, const Collect& collect, const Launch& launch) {
  if (list.empty()) return;
  const GraphPhase phase = graph_phase();
  if (phase == GraphPhase::Preparing) {
    GraphHyper& gh = graph_hyper();
    KILN_CHECK(gh.next < gh.slots.size() && gh.slots[gh.next].entries == list.size(), op,
               ": the parameters this step updates differ from those of the captured CUDA graph (a parameter gained "
               "or lost its gradient, or the step counts diverged); capture the step again");
    GraphHyper::Slot& slot = gh.slots[gh.next++];
    slot.values.copy_(tensor(values, {static_cast<int64_t>(values.size())}, TensorOptions(kFloat64)));
    return;
  }
  const bool capturing = phase == GraphPhase::Capturing;
  if (!capturing) check_not_captured(op);
  std::vector<OptimTensors> batch;
  Device device;
  DType dtype = kFloat32;
  bool open = false;
  for (const OptimTensors& t : list) {
    const bool joins = t.param.defined() && t.param.is_cuda() &&
                       (!open || (device == t.param.device() && dtype == t.param.dtype()));
    if (!joins) {
      KILN_CHECK(!capturing, op, ": the parameters of a CUDA-graph step must be on one GPU with one dtype; ",
                 t.param.defined() ? t.param.device().str() + " " + dtype_name(t.param.dtype()) : std::string("undefined"),
                 " differs from ", device.str(), " ", dtype_name(dtype));
      single(t);
      continue;
    }
    if (!open) device = t.param.device(), dtype = t.param.dtype(), open = true;
    collect(t, batch);
  }
  if (batch.empty()) return;
  const double* live = nullptr;
  if (capturing) {
    GraphHyper& gh = graph_hyper();
    // empty, not zeros: a fill would be captured too and clear the uploaded values at every replay.
    const int64_t n = static_cast<int64_t>(values.size());
    gh.slots.push_back({empty({n}, TensorOptions(kFloat64).device(device)), list.size()});
    live = gh.slots.back().values.data_ptr<double>();
  }
  launch(batch, op_stream(device), live);
}
}  // namespace

bool fusable(const Tensor& param, std::initializer_list<const Tensor*> others) {
  if (!is_non_overlapping_and_dense(param)) return false;
  for (const Tensor* t : others) {
    if (!t->defined()) continue;
    if (t->strides() != param.strides() || t->dtype() != param.dtype() || t->device() != param.device() ||
        t->sizes() != param.sizes())
      return false;
  }
  return true;
}

namespace {
// One Adam step's checks, then fused(gradient in the parameter's layout, max_exp_avg_sq or none) when the fused
// kernel can take the tensors, else the composed formulas. adam_step launches the kernel there; adam_step_many
// collects the tensors for its multi-tensor launch.
template <typename Fused>
void adam_one(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
              const Tensor& max_exp_avg_sq, const AdamHyper& h, OptimPath path, const Fused& fused) {
  const char* op = h.decoupled ? "AdamW" : "Adam";
  NoGradGuard no_grad;
  Tensor g = checked_grad(param, grad, op);
  check_state(exp_avg, op, "exp_avg");
  check_state(exp_avg_sq, op, "exp_avg_sq");
  if (h.amsgrad) check_state(max_exp_avg_sq, op, "max_exp_avg_sq");
  const Tensor& vmax = h.amsgrad ? max_exp_avg_sq : kNoTensor;
  if (try_fused(path, param, g, {&exp_avg, &exp_avg_sq, &vmax}, op, [&](const Tensor& gc) { fused(gc, vmax); }))
    return;
  Tensor p = param, m = exp_avg, v = exp_avg_sq;
  if (h.weight_decay != 0) {
    if (h.decoupled) mul_(p, h.decay);
    else g = add(g, p, h.weight_decay);
  }
  mul_(m, h.beta1);
  add_(m, g, 1 - h.beta1);
  mul_(v, h.beta2);
  addcmul_(v, g, g, 1 - h.beta2);
  Tensor second = v;
  if (h.amsgrad) {
    Tensor mx = vmax;
    copy_(mx, maximum(mx, v));
    second = mx;
  }
  Tensor denom = div(sqrt(second), h.bias_correction2_sqrt);
  add_(denom, h.eps);
  addcdiv_(p, m, denom, -h.step_size);
}
}  // namespace

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
               const Tensor& max_exp_avg_sq, const AdamHyper& h, OptimPath path) {
  check_not_captured(h.decoupled ? "AdamW" : "Adam");
  adam_one(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, h, path, [&](const Tensor& gc, const Tensor& vmax) {
    adam_step_stub(param.device().type(), param, gc, exp_avg, exp_avg_sq, vmax, h, op_stream(param.device()));
  });
}

void adam_step_many(const std::vector<OptimTensors>& list, const AdamHyper& h) {
  step_many(
      h.decoupled ? "AdamW" : "Adam", list, {h.step_size, h.bias_correction2_sqrt, h.decay},
      [&](const OptimTensors& t) { adam_step(t.param, t.grad, t.state[0], t.state[1], t.state[2], h); },
      [&](const OptimTensors& t, std::vector<OptimTensors>& batch) {
        adam_one(t.param, t.grad, t.state[0], t.state[1], t.state[2], h, OptimPath::Auto,
                 [&](const Tensor& gc, const Tensor& vmax) {
                   batch.push_back(OptimTensors{t.param, gc, {t.state[0], t.state[1], vmax}});
                 });
      },
      [&](const std::vector<OptimTensors>& batch, cuda::Stream stream, const double* live) {
        AdamHyper hl = h;
        hl.live = live;
        adam_many_stub(batch[0].param.device().type(), batch, hl, stream);
      });
}

namespace {
// One SGD step's checks, then fused(gradient in the parameter's layout, momentum buffer or none) when the fused
// kernel can take the tensors, else the composed formulas (as adam_one).
template <typename Fused>
void sgd_one(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdHyper& h,
             OptimPath path, const Fused& fused) {
  NoGradGuard no_grad;
  Tensor g = checked_grad(param, grad, "SGD");
  if (h.momentum != 0) check_state(momentum_buffer, "SGD", "momentum_buffer");
  const Tensor& buf = h.momentum != 0 ? momentum_buffer : kNoTensor;
  if (try_fused(path, param, g, {&buf}, "SGD", [&](const Tensor& gc) { fused(gc, buf); })) return;
  Tensor p = param, d = g;
  if (h.weight_decay != 0) d = add(d, p, h.weight_decay);
  if (h.momentum != 0) {
    Tensor b = buf;
    if (h.first_step) {
      copy_(b, d);
    } else {
      mul_(b, h.momentum);
      add_(b, d, 1 - h.dampening);
    }
    d = h.nesterov ? add(d, b, h.momentum) : b;
  }
  add_(p, d, -h.lr);
}
}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdHyper& h,
              OptimPath path) {
  check_not_captured("SGD");
  sgd_one(param, grad, momentum_buffer, h, path, [&](const Tensor& gc, const Tensor& buf) {
    sgd_step_stub(param.device().type(), param, gc, buf, h, op_stream(param.device()));
  });
}

void sgd_step_many(const std::vector<OptimTensors>& list, const SgdHyper& h) {
  step_many(
      "SGD", list, {h.lr}, [&](const OptimTensors& t) { sgd_step(t.param, t.grad, t.state[0], h); },
      [&](const OptimTensors& t, std::vector<OptimTensors>& batch) {
        sgd_one(t.param, t.grad, t.state[0], h, OptimPath::Auto, [&](const Tensor& gc, const Tensor& buf) {
          batch.push_back(OptimTensors{t.param, gc, {buf, Tensor(), Tensor()}});
        });
      },
      [&](const std::vector<OptimTensors>& batch, cuda::Stream stream, const double* live) {
        SgdHyper hl = h;
        hl.live = live;
        sgd_many_stub(batch[0].param.device().type(), batch, hl, stream);
      });
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& grad_avg,
                  const Tensor& momentum_buffer, const RmspropHyper& h, OptimPath path) {
  NoGradGuard no_grad;
  Tensor g = checked_grad(param, grad, "RMSprop");
  check_state(square_avg, "RMSprop", "square_avg");
  if (h.centered) check_state(grad_avg, "RMSprop", "grad_avg");
  if (h.momentum > 0) check_state(momentum_buffer, "RMSprop", "momentum_buffer");
  const Tensor& gavg = h.centered ? grad_avg : kNoTensor;
  const Tensor& buf = h.momentum > 0 ? momentum_buffer : kNoTensor;
  if (try_fused(path, param, g, {&square_avg, &gavg, &buf}, "RMSprop", [&](const Tensor& gc) {
        rmsprop_step_stub(param.device().type(), param, gc, square_avg, gavg, buf, h, op_stream(param.device()));
      }))
    return;
  Tensor p = param, sq = square_avg, d = g;
  if (h.weight_decay != 0) d = add(d, p, h.weight_decay);
  mul_(sq, h.alpha);
  addcmul_(sq, d, d, 1 - h.alpha);
  Tensor avg;
  if (h.centered) {
    Tensor ga = gavg;
    mul_(ga, h.alpha);
    add_(ga, d, 1 - h.alpha);
    avg = sqrt(sub(sq, mul(ga, ga)));
  } else {
    avg = sqrt(sq);
  }
  add_(avg, h.eps);
  if (h.momentum > 0) {
    Tensor b = buf;
    mul_(b, h.momentum);
    addcdiv_(b, d, avg, 1);
    add_(p, b, -h.lr);
  } else {
    addcdiv_(p, d, avg, -h.lr);
  }
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& sum, const AdagradHyper& h, OptimPath path) {
  NoGradGuard no_grad;
  Tensor g = checked_grad(param, grad, "Adagrad");
  check_state(sum, "Adagrad", "sum");
  if (try_fused(path, param, g, {&sum}, "Adagrad",
                [&](const Tensor& gc) {
                  adagrad_step_stub(param.device().type(), param, gc, sum, h, op_stream(param.device()));
                }))
    return;
  Tensor p = param, s = sum, d = g;
  if (h.weight_decay != 0) d = add(d, p, h.weight_decay);
  addcmul_(s, d, d, 1);
  Tensor denom = sqrt(s);
  add_(denom, h.eps);
  addcdiv_(p, d, denom, -h.clr);
}
}  // namespace kiln::ops
