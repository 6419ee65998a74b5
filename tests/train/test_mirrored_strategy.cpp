// Tests for train::MirroredStrategy: fit over 2 and 3 CPU devices equals single-device fit; the checkpoint it
// leaves is the plain model's; evaluate and predict; device errors.
#include <gtest/gtest.h>

#include <vector>

#include "gpu_skip.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/nn/container.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/train/mirrored_strategy.h"
#include "kiln/train/model.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace {
using namespace kiln;

nn::Sequential classifier(DType dt) {
  nn::Sequential net(nn::Linear(4, 16), nn::ReLU(), nn::Linear(16, 3));
  net->to(dt);
  return net;
}

struct Data {
  Tensor x, y;
};
Data data(DType dt) {
  Generator g(7);
  return {randn({75, 4}, TensorOptions().dtype(dt), &g), randint(0, 3, {75}, {}, &g)};
}

train::FitOptions options() {
  train::FitOptions o;
  o.epochs = 3;
  o.batch_size = 16;  // 75 rows: four batches of 16 and one of 11, uneven over 2 and 3 replicas
  o.seed = 5;
  return o;
}

// fit under MirroredStrategy(devices) against fit of the same initial model on one device.
// by_clone: the replicas are clones of an existing model (wrap(model)) instead of built by the factory.
void expect_fit_matches_single_device(std::vector<Device> devices, DType dt, double tol, bool by_clone = false) {
  Data d = data(dt);
  manual_seed(1);
  auto single_net = classifier(dt);
  train::Model single(single_net);
  single.compile("adam", "cross_entropy", {"accuracy"}, 1e-2);

  train::MirroredStrategy strategy(devices);
  EXPECT_EQ(strategy.num_replicas_in_sync(), static_cast<int64_t>(devices.size()));
  train::Model mirrored = by_clone ? strategy.wrap(classifier(dt)) : strategy.scope([dt] { return classifier(dt); });
  mirrored.module().load_state_dict(single_net->state_dict());
  mirrored.compile("adam", "cross_entropy", {"accuracy"}, 1e-2);

  train::History a = single.fit(d.x, d.y, options()), b = mirrored.fit(d.x, d.y, options());
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (size_t e = 0; e < a.epochs.size(); ++e) {
    EXPECT_NEAR(a.epochs[e].loss, b.epochs[e].loss, tol) << "epoch " << e;
    EXPECT_NEAR(a.epochs[e].accuracy, b.epochs[e].accuracy, 1e-12) << "epoch " << e;
  }
  // The checkpoint is the plain model's: the same keys, the same values.
  auto want = single.module().state_dict(), got = mirrored.module().state_dict();
  ASSERT_EQ(want.size(), got.size());
  for (auto& [name, t] : want) test::expect_close(got.at(name).to(Device("cpu")), t, tol, tol);
  test::expect_close(mirrored.predict(d.x).to(Device("cpu")), single.predict(d.x), tol, tol);
  EXPECT_NEAR(mirrored.evaluate(d.x, d.y).loss, single.evaluate(d.x, d.y).loss, tol);
}

TEST(MirroredStrategy, TwoCpuReplicasFitAsOneFloat64) {
  expect_fit_matches_single_device({Device("cpu"), Device("cpu")}, kFloat64, 1e-10);
}
TEST(MirroredStrategy, ClonedReplicasFitAsOne) {
  expect_fit_matches_single_device({Device("cpu"), Device("cpu")}, kFloat64, 1e-10, /*by_clone=*/true);
}
TEST(MirroredStrategy, ThreeCpuReplicasFitAsOneFloat32) {
  expect_fit_matches_single_device({Device("cpu"), Device("cpu"), Device("cpu")}, kFloat32, 1e-4);
}

TEST(MirroredStrategy, DefaultDevicesAreTheVisibleGpusOrTheCpu) {
  train::MirroredStrategy strategy;
  if (cuda::device_count() == 0) {
    ASSERT_EQ(strategy.devices().size(), 1u);
    EXPECT_TRUE(strategy.devices()[0].is_cpu());
  } else {
    EXPECT_EQ(strategy.num_replicas_in_sync(), cuda::device_count());
  }
}

TEST(MirroredStrategy, InvisibleGpuIsADeviceError) {
  if (cuda::device_count() > 7) GTEST_SKIP() << "this machine has a cuda:7";
  EXPECT_THROW_WITH((train::MirroredStrategy({Device("cuda:7")})), DeviceError, "cuda:7", "CUDA_VISIBLE_DEVICES");
}

TEST(MirroredStrategyCUDA, OneGpuFitsAsTheCpu) {
  KILN_SKIP_WITHOUT_GPU();
  expect_fit_matches_single_device({Device("cuda:0")}, kFloat64, 1e-8);
}
}  // namespace
