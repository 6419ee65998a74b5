// train::MirroredStrategy: TensorFlow's MirroredStrategy for the Keras-style train::Model, built on nn::DataParallel.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include "kiln/nn/data_parallel.h"
#include "kiln/train/model.h"

namespace kiln::train {

/// tf.distribute.MirroredStrategy: one model mirrored on every listed device, each batch split between them
/// and the gradients summed into one set of variables, so `fit` trains as on one device with a bigger batch.
/// It is nn::DataParallel underneath (one mechanism): the Model's module is the primary on devices()[0], its
/// forward runs the replicas, and the default PlainStep (or an AMP step) applies the optimizer to the primary;
/// checkpoints hold the primary's state under its own names, loadable without the strategy.
///
///   train::MirroredStrategy strategy({Device("cuda:0"), Device("cuda:1")});
///   train::Model model = strategy.scope([] { return make_net(); });   // with strategy.scope(): model = ...
///   model.compile("adam", "cross_entropy");
///   model.fit(x, y, opts);
class MirroredStrategy {
 public:
  /// devices: all GPUs or all CPUs ({cpu, cpu} runs the replicas on threads); empty: every visible GPU, or
  /// the CPU when there is none. Throws DeviceError for a GPU that is not visible.
  explicit MirroredStrategy(std::vector<Device> devices = {});

  const std::vector<Device>& devices() const { return devices_; }
  /// TensorFlow's name for the number of replicas.
  int64_t num_replicas_in_sync() const { return static_cast<int64_t>(devices_.size()); }

  /// Builds the model under the strategy: build() (returning a module holder with forward(Tensor)) is called
  /// once per device; the first result is the model, moved to devices()[0], the others its replicas.
  template <typename Build>
  Model scope(Build build) const {
    return wrap(build(), build);
  }
  /// The same for a model that already exists: its replicas are clones of it (nn::Module::clone()).
  template <typename Holder>
  Model wrap(Holder model) const {
    model->to(devices_[0]);
    return make_model(std::make_shared<nn::DataParallelImpl>(std::move(model), devices_));
  }
  /// As wrap(model), for a module that cannot clone itself: build_replica() builds the same architecture.
  template <typename Holder, typename Build>
  Model wrap(Holder model, Build build_replica) const {
    model->to(devices_[0]);
    return make_model(std::make_shared<nn::DataParallelImpl>(std::move(model), devices_, std::move(build_replica)));
  }

  /// A Model whose module is dp's primary and whose forward is dp's.
  static Model make_model(std::shared_ptr<nn::DataParallelImpl> dp);

 private:
  std::vector<Device> devices_;
};
}  // namespace kiln::train
