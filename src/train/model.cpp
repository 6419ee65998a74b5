// train::Model: the training and evaluation loops behind compile / fit / evaluate / predict.
#include "kiln/train/model.h"

#include <chrono>
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/data/dataset.h"
#include "kiln/tensor/ops.h"
#include "kiln/train/amp_step.h"

namespace kiln::train {
namespace {
double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// The number of correct class predictions in a batch, as a device tensor (no sync).
Tensor count_correct(const Tensor& pred, const Tensor& target) {
  return sum(eq(argmax(pred, 1), target.to(kInt64)));
}

bool classification_target(const Tensor& pred, const Tensor& target) {
  return pred.dim() == 2 && !target.is_floating_point() && target.dim() == 1;
}

// Loader options for in-memory tensors: for a model on a GPU the loader pins each batch and queues its copy
// on a side stream, so the step never waits for a copy from pageable memory.
data::DataLoaderOptions loader_options(int64_t batch_size, Device model_device) {
  data::DataLoaderOptions o(batch_size);
  if (model_device.is_cuda()) o.device(model_device);
  return o;
}
}  // namespace

Model::Model(std::shared_ptr<nn::Module> module, ForwardFn forward)
    : module_(std::move(module)), forward_(std::move(forward)) {
  KILN_CHECK(module_ != nullptr, "train::Model needs a module");
}

void Model::compile(std::shared_ptr<optim::Optimizer> optimizer, LossFn loss, std::vector<std::string> metrics,
                    const std::string& mixed_precision) {
  KILN_CHECK(optimizer != nullptr, "compile: optimizer is null");
  KILN_CHECK(static_cast<bool>(loss), "compile: loss is empty");
  // Checked before anything changes, so a typo leaves the model as it was.
  std::shared_ptr<TrainStep> step = mixed_precision.empty() ? nullptr : step_for_policy(mixed_precision);
  optimizer_ = std::move(optimizer);
  loss_ = std::move(loss);
  track_accuracy_ = false;
  for (auto& m : metrics) {
    KILN_CHECK(m == "accuracy" || m == "acc", "compile: unknown metric '", m, "' (supported: accuracy)");
    track_accuracy_ = true;
  }
  classification_ = track_accuracy_;
  if (step) {
    train_step_ = std::move(step);
    metadata_["mixed_precision"] = mixed_precision;
  }
}

void Model::compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics, double lr,
                    const std::string& mixed_precision) {
  compile(optimizer_by_name(optimizer, module_->parameters(), lr), loss_by_name(loss), std::move(metrics),
          mixed_precision);
  metadata_["optimizer"] = optimizer;
  metadata_["loss"] = loss;
}

void Model::set_train_step(std::shared_ptr<TrainStep> step) {
  KILN_CHECK(step != nullptr,
             "set_train_step: the step is null; pass std::make_shared<train::PlainStep>() for the default step");
  train_step_ = std::move(step);
}

void Model::check_compiled() const {
  KILN_CHECK(optimizer_ && loss_, "the model is not compiled: call compile(optimizer, loss) before fit()/evaluate()");
}

Device Model::device() const {
  auto params = module_->parameters();
  return params.empty() ? Device(kCPU) : params.front().device();
}

double Model::running_loss() const { return mean_batch_loss().first; }

std::pair<double, int64_t> Model::mean_batch_loss() const {
  const int64_t n = static_cast<int64_t>(batch_sizes_.size());
  if (!samples_seen_ || n == 0) return {NAN, -1};
  const std::vector<double> losses = batch_losses_.narrow(0, 0, n).to_vector<double>();  // waits for the GPU
  double sum = 0;
  int64_t first_bad = -1;
  for (int64_t b = 0; b < n; ++b) {
    if (first_bad < 0 && !std::isfinite(losses[b])) first_bad = b;
    sum += losses[b] * batch_sizes_[b];
  }
  return {sum / static_cast<double>(samples_seen_), first_bad};
}
double Model::running_accuracy() const {
  return samples_seen_ && correct_sum_.defined() ? correct_sum_.item<double>() / static_cast<double>(samples_seen_)
                                                 : NAN;
}

History Model::fit(data::DataLoader& train, int epochs, data::DataLoader* val,
                   std::vector<std::shared_ptr<Callback>> callbacks, int initial_epoch) {
  check_compiled();
  KILN_CHECK(epochs >= initial_epoch, "fit: epochs (", epochs, ") is smaller than initial_epoch (", initial_epoch, ")");
  History history;
  stop_training = false;
  Device dev = device();
  for (auto& cb : callbacks) cb->on_train_begin(*this);
  for (int epoch = initial_epoch; epoch < epochs && !stop_training; ++epoch) {
    module_->train();
    for (auto& cb : callbacks) cb->on_epoch_begin(*this, epoch);
    train.set_epoch(epoch);
    int64_t num_batches = train.size(), b = 0;
    batch_losses_ = zeros({std::max<int64_t>(num_batches, 1)}, TensorOptions().dtype(kFloat64).device(dev));
    batch_sizes_.clear();
    correct_sum_ = zeros({}, TensorOptions().dtype(kInt64).device(dev));
    samples_seen_ = 0;
    double start = now_seconds();
    bool accuracy_ok = track_accuracy_;
    for (auto& batch : train) {
      Tensor x = batch.data.to(dev, /*non_blocking=*/true);
      Tensor y = batch.target.to(dev, /*non_blocking=*/true);
      // Built per batch: a callback may recompile (a new optimizer) or swap the step between batches.
      StepContext ctx{*module_, forward_, loss_, *optimizer_};
      StepOutput out = train_step_->run(ctx, x, y);
      KILN_CHECK(out.loss.defined() && out.loss.numel() == 1 && out.pred.defined(),
                 "fit: the train step must return a one-element loss and a prediction, got a loss of shape ",
                 out.loss.defined() ? out.loss.shape_str() : std::string("(undefined)"),
                 out.pred.defined() ? "" : " and no prediction");
      int64_t n = x.size(0);
      {
        NoGradGuard no_grad;
        if (b >= batch_losses_.size(0))  // the loader gave more batches than its size() said
          batch_losses_ = cat({batch_losses_, zeros_like(batch_losses_)}, 0);
        batch_losses_.select(0, b).copy_(out.loss.detach().reshape({}));  // one kernel, no wait
        batch_sizes_.push_back(static_cast<double>(n));
        if (accuracy_ok && classification_target(out.pred, y)) correct_sum_.add_(count_correct(out.pred, y));
        else accuracy_ok = false;
      }
      samples_seen_ += n;
      for (auto& cb : callbacks) cb->on_batch_end(*this, b, num_batches);
      ++b;
    }
    EpochLogs logs;
    logs.epoch = epoch;
    const auto [mean_loss, bad_batch] = mean_batch_loss();  // waits for the GPU, at epoch end only
    KILN_CHECK(bad_batch < 0, "fit: the training loss became non-finite at epoch ", epoch, ", batch ", bad_batch,
               " of ", b, ", so the weights are no longer usable and training stopped. Lower the learning rate, ",
               "check the data for nan/inf, or clip the gradients (optim::clip_grad_norm_)");
    logs.loss = mean_loss;
    logs.accuracy = accuracy_ok ? running_accuracy() : NAN;
    logs.seconds = now_seconds() - start;
    logs.samples_per_second = logs.seconds > 0 ? static_cast<double>(samples_seen_) / logs.seconds : 0;
    logs.lr = optimizer_->param_groups().empty() ? NAN : optimizer_->param_groups()[0].options().get_lr();
    if (val) {
      EvalResult r = evaluate(*val);
      logs.val_loss = r.loss;
      logs.val_accuracy = r.accuracy;
    }
    for (auto& cb : callbacks) cb->amend_epoch_logs(*this, logs);
    history.epochs.push_back(logs);
    for (auto& cb : callbacks) cb->on_epoch_end(*this, logs);
  }
  for (auto& cb : callbacks) cb->on_train_end(*this, history);
  return history;
}

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  KILN_CHECK_SHAPE(x.dim() >= 1 && y.dim() >= 1 && x.size(0) == y.size(0), "fit: x has ", x.shape_str(),
                   " rows but y has ", y.shape_str());
  KILN_CHECK(options.validation_split >= 0 && options.validation_split < 1,
             "fit: validation_split must be in [0, 1), got ", options.validation_split);
  int64_t n = x.size(0);
  int64_t n_val = static_cast<int64_t>(std::floor(static_cast<double>(n) * options.validation_split));
  auto train_set = std::make_shared<data::TensorDataset>(x.narrow(0, 0, n - n_val), y.narrow(0, 0, n - n_val));
  data::DataLoader train(train_set,
                         loader_options(options.batch_size, device()).shuffle(options.shuffle).seed(options.seed));
  std::unique_ptr<data::DataLoader> val;
  if (n_val > 0) {
    auto val_set = std::make_shared<data::TensorDataset>(x.narrow(0, n - n_val, n_val), y.narrow(0, n - n_val, n_val));
    val = std::make_unique<data::DataLoader>(val_set,
                                             loader_options(std::max<int64_t>(options.batch_size, 256), device()));
  }
  return fit(train, options.epochs, val.get(), options.callbacks);
}

EvalResult Model::evaluate(data::DataLoader& loader) {
  KILN_CHECK(static_cast<bool>(loss_), "evaluate: the model is not compiled (no loss): call compile() first");
  NoGradGuard no_grad;
  bool was_training = module_->is_training();
  module_->eval();
  Device dev = device();
  Tensor loss_sum = zeros({}, TensorOptions().dtype(kFloat64).device(dev));
  Tensor confusion;
  int64_t samples = 0;
  bool classification = track_accuracy_;
  for (auto& batch : loader) {
    Tensor x = batch.data.to(dev, true), y = batch.target.to(dev, true);
    Tensor pred = forward_(x);
    int64_t n = x.size(0);
    loss_sum.add_(loss_(pred, y).to(kFloat64) * static_cast<double>(n));
    if (classification && classification_target(pred, y)) {
      int64_t c = pred.size(1);
      // confusion[t][p] += 1, as one scatter_add over flattened (t * C + p) indices.
      Tensor flat = add(mul(y.to(kInt64), c), argmax(pred, 1));
      if (!confusion.defined()) confusion = zeros({c * c}, TensorOptions().dtype(kInt64).device(dev));
      confusion = scatter_add(confusion, 0, flat, ones({flat.size(0)}, TensorOptions().dtype(kInt64).device(dev)));
    } else {
      classification = false;
    }
    samples += n;
  }
  if (was_training) module_->train();
  EvalResult r;
  r.samples = samples;
  r.loss = samples ? loss_sum.item<double>() / static_cast<double>(samples) : NAN;
  r.accuracy = NAN;
  if (classification && confusion.defined()) {
    auto counts = confusion.to_vector<int64_t>();
    int64_t c = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(counts.size()))));
    r.confusion.assign(c, std::vector<int64_t>(c, 0));
    int64_t correct = 0;
    for (int64_t t = 0; t < c; ++t)
      for (int64_t p = 0; p < c; ++p) {
        r.confusion[t][p] = counts[t * c + p];
        if (t == p) correct += counts[t * c + p];
      }
    r.accuracy = samples ? static_cast<double>(correct) / static_cast<double>(samples) : NAN;
  }
  return r;
}

EvalResult Model::evaluate(const Tensor& x, const Tensor& y, int64_t batch_size) {
  auto set = std::make_shared<data::TensorDataset>(x, y);
  data::DataLoader loader(set, loader_options(batch_size, device()));
  return evaluate(loader);
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  KILN_CHECK(batch_size > 0, "predict: batch_size must be positive, got ", batch_size);
  NoGradGuard no_grad;
  bool was_training = module_->is_training();
  module_->eval();
  Device dev = device();
  std::vector<Tensor> outs;
  for (int64_t i = 0; i < x.size(0); i += batch_size)
    outs.push_back(forward_(x.narrow(0, i, std::min(batch_size, x.size(0) - i)).to(dev)));
  if (was_training) module_->train();
  KILN_CHECK(!outs.empty(), "predict: x has no rows");
  return cat(outs, 0);
}
}  // namespace kiln::train
