// train::Model: Keras-style compile / fit / evaluate / predict around an nn::Module.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/data/dataloader.h"
#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"
#include "kiln/train/callbacks.h"
#include "kiln/train/history.h"
#include "kiln/train/metrics.h"
#include "kiln/train/train_step.h"

namespace kiln::train {

/// A loss by Keras or PyTorch name: "cross_entropy" (= "sparse_categorical_crossentropy"), "nll", "mse",
/// "l1" (= "mae"), "smooth_l1", "bce", "bce_with_logits". Throws ValueError listing the names.
LossFn loss_by_name(const std::string& name);
/// An optimizer by name: "sgd", "adam", "adamw", "rmsprop", "adagrad", with learning rate lr (<= 0: its default).
std::shared_ptr<optim::Optimizer> optimizer_by_name(const std::string& name, std::vector<Tensor> params, double lr = -1);

/// Keras-style fit() options for in-memory tensors.
struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  bool shuffle = true;
  uint64_t seed = 0;
  double validation_split = 0.0;  ///< fraction of the rows (taken from the end, as Keras) held out
  std::vector<std::shared_ptr<Callback>> callbacks;
};

class Model {
 public:
  /// Wraps a module with a Tensor -> Tensor forward.
  Model(std::shared_ptr<nn::Module> module, ForwardFn forward);
  /// From a holder whose module has forward(Tensor): train::Model model(nn::Sequential(...)).
  template <typename Holder, typename = decltype(std::declval<Holder&>()->forward(std::declval<const Tensor&>()))>
  explicit Model(Holder holder)
      : Model(holder.ptr(), [m = holder.ptr()](const Tensor& x) { return m->forward(x); }) {}

  /// Chooses the optimizer, the loss and the metrics ("accuracy" is the one metric supported), and optionally a
  /// Keras mixed-precision policy: "mixed_bfloat16" or "mixed_float16" (float16 on CUDA only) train with
  /// train::AmpStep, "float32" with the plain step; empty keeps the current step.
  void compile(std::shared_ptr<optim::Optimizer> optimizer, LossFn loss,
               std::vector<std::string> metrics = {"accuracy"}, const std::string& mixed_precision = "");
  /// By name: compile("adam", "cross_entropy", {"accuracy"}, 1e-3, "mixed_bfloat16").
  void compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics = {"accuracy"},
               double lr = -1, const std::string& mixed_precision = "");

  /// Sets the strategy fit() runs each batch's step with (an AMP, DDP or graph-captured step; PlainStep until
  /// set). It is kept across compile() and fit() calls, and may be set before compile(). Throws ValueError for
  /// a null step, keeping the current one.
  void set_train_step(std::shared_ptr<TrainStep> step);
  /// The step fit() runs; never null.
  TrainStep& train_step() { return *train_step_; }

  /// Trains for epochs [initial_epoch, epochs) on `train`, validating on `val` after each epoch when given.
  /// Batches are moved to the model's device if the loader did not put them there, then run by train_step();
  /// the running loss and accuracy and the callbacks stay here, whatever the step. The host waits for the GPU
  /// at the end of each epoch only, to read the batch losses (and the accuracy count); if one is nan or inf, fit throws ValueError naming the epoch and
  /// the first such batch, before that epoch's callbacks run (so no checkpoint of broken weights is written).
  History fit(data::DataLoader& train, int epochs, data::DataLoader* val = nullptr,
              std::vector<std::shared_ptr<Callback>> callbacks = {}, int initial_epoch = 0);
  /// Trains on in-memory tensors (x rows, y targets), Keras style.
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options);
  /// Loss, accuracy and (for classification) the confusion matrix, in eval mode without gradients.
  EvalResult evaluate(data::DataLoader& loader);
  EvalResult evaluate(const Tensor& x, const Tensor& y, int64_t batch_size = 256);
  /// Model outputs for x in eval mode, batch by batch, on the model's device.
  Tensor predict(const Tensor& x, int64_t batch_size = 256);

  nn::Module& module() { return *module_; }
  std::shared_ptr<nn::Module> module_ptr() const { return module_; }
  optim::Optimizer* optimizer() { return optimizer_.get(); }
  /// The device of the module's first parameter (CPU for a module without parameters).
  Device device() const;
  /// Strings stored with checkpoints (architecture, dataset, seed, ...).
  std::map<std::string, std::string>& metadata() { return metadata_; }
  /// Set by a callback to end fit() after the current epoch.
  bool stop_training = false;

  /// The running mean loss and accuracy of the current epoch so far (a device sync), for progress display.
  double running_loss() const;
  double running_accuracy() const;
  int64_t samples_seen() const { return samples_seen_; }

 private:
  void check_compiled() const;
  /// The epoch's mean loss so far (weighted by batch size) and its first non-finite batch (-1 when none).
  std::pair<double, int64_t> mean_batch_loss() const;
  bool is_classification() const { return classification_; }

  std::shared_ptr<nn::Module> module_;
  ForwardFn forward_;
  std::shared_ptr<optim::Optimizer> optimizer_;
  LossFn loss_;
  std::shared_ptr<TrainStep> train_step_ = std::make_shared<PlainStep>();
  bool classification_ = false;
  bool track_accuracy_ = false;
  std::map<std::string, std::string> metadata_;
  // The epoch's batch losses (float64, one slot per batch) and correct-prediction count, kept on the device so
  // the training loop never waits for the GPU; each batch's size is known on the host.
  Tensor batch_losses_, correct_sum_;
  std::vector<double> batch_sizes_;
  int64_t samples_seen_ = 0;
};
}  // namespace kiln::train
