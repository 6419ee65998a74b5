// train::MirroredStrategy: checks the devices once and turns a DataParallel into a Keras-style Model.
#include "kiln/train/mirrored_strategy.h"

#include "kiln/core/error.h"

namespace kiln::train {

MirroredStrategy::MirroredStrategy(std::vector<Device> devices)
    : devices_(nn::data_parallel_devices(std::move(devices))) {}

Model MirroredStrategy::make_model(std::shared_ptr<nn::DataParallelImpl> dp) {
  KILN_CHECK(dp != nullptr, "MirroredStrategy: the DataParallel is null");
  std::shared_ptr<nn::Module> primary = dp->module();
  // The lambda owns dp: the replicas live as long as the Model's forward does.
  return Model(std::move(primary), [dp](const Tensor& x) { return dp->forward(x); });
}
}  // namespace kiln::train
