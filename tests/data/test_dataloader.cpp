// Tests for the DataLoader: order, shuffling by seed and epoch, batch sizes, workers, errors, samplers, transforms.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include "data/data_test_util.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/data/dataloader.h"
#include "kiln/data/dataset.h"
#include "kiln/data/transforms.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "test_device.h"

namespace kiln::test {
namespace {

using data::DataLoader;
using data::DataLoaderOptions;
using data::Example;

// Sample i: data = [i, -i] (float32), target = i (int64); makes following the indices easy.
std::shared_ptr<data::TensorDataset> identity_dataset(int64_t n) {
  std::vector<float> d;
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) d.insert(d.end(), {float(i), float(-i)});
  std::iota(t.begin(), t.end(), int64_t{0});
  return std::make_shared<data::TensorDataset>(tensor(d, {n, 2}), tensor(t, {n}));
}

// The target indices of every batch of one epoch.
std::vector<std::vector<int64_t>> epoch_indices(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (Example& batch : loader) {
    std::vector<int64_t> t = batch.target.to_vector<int64_t>();
    std::vector<float> d = batch.data.to_vector<float>();
    for (size_t i = 0; i < t.size(); ++i) EXPECT_EQ(d[2 * i], float(t[i])) << "data and target disagree";
    out.push_back(t);
  }
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& b) {
  std::vector<int64_t> out;
  for (const auto& v : b) out.insert(out.end(), v.begin(), v.end());
  return out;
}

TEST(DataLoaderTest, WithoutShuffleBatchesFollowTheDatasetOrder) {
  DataLoader loader(identity_dataset(10), DataLoaderOptions().batch_size(4));
  EXPECT_EQ(loader.size(), 3);
  auto b = epoch_indices(loader);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(b[1], (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(b[2], (std::vector<int64_t>{8, 9}));  // the last, partial batch
  for (Example& batch : loader) {
    EXPECT_EQ(batch.data.sizes()[1], 2);
    EXPECT_EQ(batch.data.dtype(), kFloat32);
    EXPECT_EQ(batch.target.dtype(), kInt64);
  }
}

TEST(DataLoaderTest, DropLastDropsOnlyThePartialBatch) {
  DataLoader drop(identity_dataset(10), DataLoaderOptions().batch_size(4).drop_last(true));
  EXPECT_EQ(drop.size(), 2);
  auto b = epoch_indices(drop);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].size(), 4u);
  DataLoader exact(identity_dataset(8), DataLoaderOptions().batch_size(4).drop_last(true));
  EXPECT_EQ(epoch_indices(exact).size(), 2u);
  DataLoader ones(identity_dataset(3));  // batch_size defaults to 1
  EXPECT_EQ(ones.size(), 3);
  EXPECT_EQ(epoch_indices(ones).size(), 3u);
  DataLoader none(identity_dataset(3), DataLoaderOptions(4).drop_last(true));
  EXPECT_EQ(none.size(), 0);
  EXPECT_TRUE(none.begin() == none.end());
}

TEST(DataLoaderTest, ShuffleVisitsEveryIndexOncePerEpochReproduciblyBySeed) {
  auto ds = identity_dataset(50);
  DataLoader a(ds, DataLoaderOptions().batch_size(8).shuffle(true).seed(123));
  DataLoader b(ds, DataLoaderOptions().batch_size(8).shuffle(true).seed(123));
  DataLoader c(ds, DataLoaderOptions().batch_size(8).shuffle(true).seed(124));
  auto a0 = epoch_indices(a), a1 = epoch_indices(a);
  auto b0 = epoch_indices(b), b1 = epoch_indices(b);
  auto c0 = epoch_indices(c);
  EXPECT_EQ(a0, b0);  // same seed, same epoch
  EXPECT_EQ(a1, b1);
  EXPECT_NE(a0, a1);  // a new order each epoch
  EXPECT_NE(a0, c0);  // another seed, another order
  std::vector<int64_t> sorted_expected(50);
  std::iota(sorted_expected.begin(), sorted_expected.end(), int64_t{0});
  for (const auto& e : {a0, a1, c0}) {
    std::vector<int64_t> all = flat(e);
    EXPECT_NE(all, sorted_expected);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, sorted_expected);
  }
  // Epoch e is Generator(seed + e)'s permutation.
  Generator g(123 + 1);
  EXPECT_EQ(flat(a1), randperm(50, TensorOptions(kInt64), &g).to_vector<int64_t>());
}

TEST(DataLoaderTest, SetEpochReplaysAnEpochForAResumedRun) {
  auto ds = identity_dataset(30);
  DataLoader first(ds, DataLoaderOptions().batch_size(7).shuffle(true).seed(9));
  epoch_indices(first);
  epoch_indices(first);
  EXPECT_EQ(first.epoch(), 2);
  auto e2 = epoch_indices(first);
  DataLoader resumed(ds, DataLoaderOptions().batch_size(7).shuffle(true).seed(9));
  resumed.set_epoch(2);
  EXPECT_EQ(epoch_indices(resumed), e2);
  EXPECT_EQ(resumed.epoch(), 3);
}

TEST(DataLoaderTest, UnsetSeedFollowsTheDefaultGenerator) {
  auto ds = identity_dataset(40);
  manual_seed(5);
  DataLoader a(ds, DataLoaderOptions().batch_size(40).shuffle(true));
  manual_seed(5);
  DataLoader b(ds, DataLoaderOptions().batch_size(40).shuffle(true));
  EXPECT_EQ(a.seed(), b.seed());
  EXPECT_EQ(epoch_indices(a), epoch_indices(b));
}

TEST(DataLoaderTest, WorkersGiveTheSameBatchesInTheSameOrder) {
  auto ds = identity_dataset(103);
  data::Transform noisy = [](const Tensor& x, Generator* g) { return x + rand(x.sizes(), TensorOptions(), g); };
  std::vector<std::vector<std::vector<float>>> runs;
  for (int workers : {0, 1, 3}) {
    DataLoader loader(ds, DataLoaderOptions().batch_size(10).shuffle(true).seed(77).num_workers(workers).transform(noisy));
    std::vector<std::vector<float>> run;
    for (int epoch = 0; epoch < 2; ++epoch)
      for (Example& batch : loader) {
        run.push_back(batch.data.to_vector<float>());
        std::vector<int64_t> t = batch.target.to_vector<int64_t>();
        run.push_back(std::vector<float>(t.begin(), t.end()));
      }
    EXPECT_EQ(run.size(), 2u * 2u * 11u);
    runs.push_back(run);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
}

// Fails when asked for sample `bad`; counts the calls it gets.
class FailingDataset : public data::Dataset {
 public:
  explicit FailingDataset(int64_t bad) : bad_(bad) {}
  int64_t size() const override { return 20; }
  Example get(int64_t i) const override {
    ++calls;
    if (i == bad_) throw IOError("sample " + std::to_string(i) + " is corrupt");
    return {full({2}, static_cast<double>(i)), scalar_tensor(i, kInt64)};
  }
  mutable std::atomic<int> calls{0};

 private:
  int64_t bad_;
};

TEST(DataLoaderTest, ErrorsFromTheDatasetReachTheConsumerAtTheirBatch) {
  for (int workers : {0, 1, 3}) {
    DataLoader loader(std::make_shared<FailingDataset>(13), DataLoaderOptions().batch_size(4).num_workers(workers));
    int batches = 0;
    std::string message;
    try {
      for (Example& batch : loader) {
        EXPECT_EQ(batch.target.to_vector<int64_t>()[0], 4 * batches);
        ++batches;
      }
    } catch (const IOError& e) {
      message = e.what();
    }
    EXPECT_EQ(batches, 3) << "workers " << workers;  // batches 0..2 arrive, batch 3 (samples 12..15) fails
    EXPECT_EQ(message, "sample 13 is corrupt") << "workers " << workers;
  }
}

TEST(DataLoaderTest, TheEpochCanContinueAfterAFailedBatch) {
  DataLoader loader(std::make_shared<FailingDataset>(5), DataLoaderOptions().batch_size(4).num_workers(2));
  auto it = loader.begin();
  EXPECT_EQ(it->target.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_THROW(++it, IOError);
  ++it;
  EXPECT_EQ(it->target.to_vector<int64_t>(), (std::vector<int64_t>{8, 9, 10, 11}));
}

// Slow samples, so the workers are still busy when the loader is destroyed.
class SlowDataset : public data::Dataset {
 public:
  int64_t size() const override { return 1000; }
  Example get(int64_t i) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return {full({1}, static_cast<double>(i)), Tensor()};
  }
};

TEST(DataLoaderTest, DestroyingOrRestartingMidEpochJoinsTheWorkers) {
  auto ds = std::make_shared<SlowDataset>();
  {
    DataLoader loader(ds, DataLoaderOptions().batch_size(4).num_workers(3));
    auto it = loader.begin();
    ++it;
    EXPECT_FALSE(it->target.defined());
    EXPECT_EQ(it->data.to_vector<float>()[0], 4.0f);
  }  // destroyed with workers running: must join, not terminate
  DataLoader loader(ds, DataLoaderOptions().batch_size(4).num_workers(2));
  auto old = loader.begin();
  auto fresh = loader.begin();  // a new epoch replaces the old one
  EXPECT_EQ(fresh->data.to_vector<float>()[0], 0.0f);
  EXPECT_THROW(++old, ValueError);
}

TEST(DataLoaderTest, OptionsAreChecked) {
  auto ds = identity_dataset(4);
  EXPECT_THROW(DataLoader(ds, DataLoaderOptions().batch_size(0)), ValueError);
  EXPECT_THROW(DataLoader(ds, DataLoaderOptions().num_workers(-1)), ValueError);
  EXPECT_THROW(DataLoader(nullptr), ValueError);
  if (!cuda::is_available()) EXPECT_THROW(DataLoader(ds, DataLoaderOptions().device(Device("cuda"))), DeviceError);
}

TEST(SamplerTest, SamplersAndBatchSampler) {
  data::SequentialSampler seq(5);
  EXPECT_EQ(seq.indices(3), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  data::RandomSampler rnd(6, 11);
  EXPECT_EQ(rnd.indices(0), rnd.indices(0));
  EXPECT_NE(rnd.indices(0), rnd.indices(1));
  data::SubsetRandomSampler sub({10, 20, 30, 40}, 3);
  std::vector<int64_t> s = sub.indices(0);
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, (std::vector<int64_t>{10, 20, 30, 40}));
  data::BatchSampler bs(std::make_shared<data::SequentialSampler>(7), 3, false);
  EXPECT_EQ(bs.size(), 3);
  auto b = bs.batches(0);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[2], (std::vector<int64_t>{6}));
  EXPECT_EQ(data::BatchSampler(std::make_shared<data::SequentialSampler>(7), 3, true).size(), 2);
}

TEST(SamplerTest, SamplerOptionOverridesShuffle) {
  auto ds = identity_dataset(10);
  auto sampler = std::make_shared<data::SubsetRandomSampler>(std::vector<int64_t>{1, 3, 5, 7}, 2);
  DataLoader loader(ds, DataLoaderOptions().batch_size(3).shuffle(true).sampler(sampler));
  EXPECT_EQ(loader.size(), 2);
  std::vector<int64_t> all = flat(epoch_indices(loader));
  EXPECT_EQ(all, sampler->indices(0));
  auto batches = std::make_shared<data::BatchSampler>(std::make_shared<data::SequentialSampler>(4), 2, false);
  DataLoader by_batches(ds, DataLoaderOptions().batch_size(100).batch_sampler(batches));
  EXPECT_EQ(epoch_indices(by_batches), (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}}));
}

TEST(DataLoaderTest, LoadsARandomSplitPart) {
  Generator g(8);
  auto parts = data::random_split(identity_dataset(20), {0.75, 0.25}, &g);
  DataLoader loader(parts[1], DataLoaderOptions().batch_size(2).shuffle(true).seed(1).num_workers(2));
  std::vector<int64_t> seen = flat(epoch_indices(loader)), expected = parts[1]->indices();
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(loader.size(), 3);
}

TEST(DataLoaderTest, TransformIsAppliedPerBatchToTheData) {
  auto ds = identity_dataset(6);
  DataLoader loader(ds, DataLoaderOptions().batch_size(3).transform(
                            [](const Tensor& x, Generator*) { return x * 2.0; }));
  std::vector<float> first = loader.begin()->data.to_vector<float>();
  EXPECT_EQ(first, (std::vector<float>{0, 0, 2, -2, 4, -4}));
}

class DataLoaderDeviceTest : public DeviceTest {};

// pin_memory: pinned batches where a GPU is usable; elsewhere a one-time note and ordinary memory.
TEST_P(DataLoaderDeviceTest, PinMemory) {
  KILN_SKIP_IF_NO_DEVICE();
  DataLoader loader(identity_dataset(9), DataLoaderOptions().batch_size(4).pin_memory(true).num_workers(1));
  int64_t n = 0;
  for (Example& batch : loader) {
    EXPECT_TRUE(batch.data.is_cpu());
    EXPECT_EQ(batch.data.is_pinned(), cuda::is_available());
    EXPECT_EQ(batch.target.is_pinned(), cuda::is_available());
    n += batch.target.numel();
  }
  EXPECT_EQ(n, 9);
}

// device: batches arrive on the device, equal to the CPU loader's, whatever the number of workers.
TEST_P(DataLoaderDeviceTest, DeliversBatchesOnTheDevice) {
  KILN_SKIP_IF_NO_DEVICE();
  auto ds = identity_dataset(37);
  DataLoader host(ds, DataLoaderOptions().batch_size(5).shuffle(true).seed(3));
  std::vector<std::vector<int64_t>> expected = epoch_indices(host);
  for (int workers : {0, 2}) {
    DataLoader loader(ds, DataLoaderOptions().batch_size(5).shuffle(true).seed(3).num_workers(workers).device(dev()));
    size_t k = 0;
    for (Example& batch : loader) {
      EXPECT_EQ(batch.data.device().type(), dev().type());
      EXPECT_EQ(batch.target.device().type(), dev().type());
      // Compute on the batch on the current stream, as a training step would, before reading it back.
      Tensor doubled = batch.data * 2.0;
      ASSERT_LT(k, expected.size());
      EXPECT_EQ(batch.target.to_vector<int64_t>(), expected[k]);
      std::vector<float> d = doubled.to_vector<float>();
      for (size_t i = 0; i < expected[k].size(); ++i) EXPECT_EQ(d[2 * i], 2.0f * float(expected[k][i]));
      ++k;
    }
    EXPECT_EQ(k, expected.size());
  }
  // Stopping mid-epoch with a copy in flight is clean.
  DataLoader partial(ds, DataLoaderOptions().batch_size(5).device(dev()));
  auto it = partial.begin();
  EXPECT_EQ(it->target.to_vector<int64_t>()[0], 0);
}

INSTANTIATE_DEVICE_TESTS(DataLoaderDeviceTest);

}  // namespace
}  // namespace kiln::test
