// DataLoader (torch.utils.data.DataLoader): samplers, batching, background workers, pinned memory, GPU prefetch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/data/dataset.h"
#include "kiln/data/transforms.h"

namespace kiln::data {

/// Decides the order in which a dataset's samples are visited. indices(epoch) must be a pure function of
/// epoch (same epoch, same order), which is what makes a resumed run reproduce an epoch.
class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The sample indices of one epoch, in visiting order.
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
  /// How many indices indices() returns.
  virtual int64_t size() const = 0;
};

/// 0, 1, ..., n-1 every epoch.
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t n);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return n_; }

 private:
  int64_t n_;
};

/// A permutation of 0..n-1, drawn for epoch e with randperm from Generator(seed + e).
class RandomSampler : public Sampler {
 public:
  RandomSampler(int64_t n, uint64_t seed);
  /// Seed taken from the default generator (so kiln::manual_seed makes it reproducible).
  explicit RandomSampler(int64_t n);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return n_; }
  uint64_t seed() const { return seed_; }

 private:
  int64_t n_;
  uint64_t seed_;
};

/// The given indices in an order shuffled per epoch as RandomSampler does (e.g. a validation split).
class SubsetRandomSampler : public Sampler {
 public:
  SubsetRandomSampler(std::vector<int64_t> indices, uint64_t seed);
  explicit SubsetRandomSampler(std::vector<int64_t> indices);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }

 private:
  std::vector<int64_t> indices_;
  uint64_t seed_;
};

/// Cuts a sampler's order into batches of batch_size; the last batch is smaller, or dropped when drop_last.
class BatchSampler {
 public:
  BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, bool drop_last);
  virtual ~BatchSampler() = default;
  virtual std::vector<std::vector<int64_t>> batches(int64_t epoch) const;
  /// Number of batches per epoch.
  virtual int64_t size() const;

 private:
  std::shared_ptr<Sampler> sampler_;
  int64_t batch_size_;
  bool drop_last_;
};

/// DataLoader settings, builder style: DataLoaderOptions().batch_size(64).shuffle(true).num_workers(2).
struct DataLoaderOptions {
  DataLoaderOptions() = default;
  explicit DataLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}

#define KILN_DATA_OPTION(type, name)               \
  DataLoaderOptions& name(type v) {                \
    name##_ = std::move(v);                        \
    return *this;                                  \
  }                                                \
  const type& name() const { return name##_; }
  /// Samples per batch (>= 1).
  KILN_DATA_OPTION(int64_t, batch_size)
  /// Visit samples in a new random order every epoch (ignored when sampler or batch_sampler is set).
  KILN_DATA_OPTION(bool, shuffle)
  /// Drop the last batch when it is smaller than batch_size.
  KILN_DATA_OPTION(bool, drop_last)
  /// Seed of the shuffling and of the per-batch transform generators; drawn from the default generator
  /// when unset. Epoch e shuffles with Generator(seed + e).
  KILN_DATA_OPTION(std::optional<uint64_t>, seed)
  /// 0: batches are made in the calling thread. N > 0: N background threads make batches ahead, at most
  /// 2*N in flight; batches come out in the same order and with the same contents whatever N is.
  KILN_DATA_OPTION(int, num_workers)
  /// Put CPU batches in pinned (page-locked) memory for fast asynchronous copies to a GPU. Without a usable
  /// GPU this does nothing, after a one-time note on stderr.
  KILN_DATA_OPTION(bool, pin_memory)
  /// Deliver batches on this device. For a CUDA device the loader pins each batch and copies it
  /// asynchronously on its own copy stream while the previous batch is being computed on; the current
  /// stream waits for the copy (an event, not the host) before the batch is handed out.
  KILN_DATA_OPTION(std::optional<Device>, device)
  /// Visiting order; overrides shuffle.
  KILN_DATA_OPTION(std::shared_ptr<Sampler>, sampler)
  /// Whole batches of indices; overrides batch_size, shuffle, sampler and drop_last.
  KILN_DATA_OPTION(std::shared_ptr<BatchSampler>, batch_sampler)
  /// Applied to each batch's data (in the worker that made it, before pinning and the device copy), with a
  /// generator seeded from (seed, epoch, batch number) so results do not depend on num_workers.
  KILN_DATA_OPTION(Transform, transform)
#undef KILN_DATA_OPTION

 private:
  int64_t batch_size_ = 1;
  bool shuffle_ = false;
  bool drop_last_ = false;
  std::optional<uint64_t> seed_;
  int num_workers_ = 0;
  bool pin_memory_ = false;
  std::optional<Device> device_;
  std::shared_ptr<Sampler> sampler_;
  std::shared_ptr<BatchSampler> batch_sampler_;
  Transform transform_;
};

/// Iterates over a dataset in batches: `for (Example& batch : loader) { batch.data; batch.target; }`.
/// Each begin() starts an epoch (the one epoch() names, then the counter moves on), so a plain loop over
/// epochs sees epochs 0, 1, 2, ...; set_epoch(e) makes the next begin() replay epoch e exactly.
/// An exception thrown while making batch k (by the dataset, a transform or a worker thread) is rethrown
/// by the iterator step that would have produced batch k; the epoch can continue after it.
/// Destroying the loader, or calling begin() again, mid-epoch stops and joins its worker threads.
class DataLoader {
 public:
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = DataLoaderOptions());
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// An input iterator over one epoch's batches.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    using pointer = Example*;
    using reference = Example&;

    Iterator() = default;  ///< the end of every epoch
    Example& operator*() { return batch_; }
    Example* operator->() { return &batch_; }
    /// Moves to the next batch (or to the end). Throws ValueError when a later begin() replaced this epoch.
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return (loader_ == nullptr) == (o.loader_ == nullptr); }
    bool operator!=(const Iterator& o) const { return !(*this == o); }

   private:
    friend class DataLoader;
    Iterator(DataLoader* loader, uint64_t generation);
    DataLoader* loader_ = nullptr;
    uint64_t generation_ = 0;
    Example batch_;
  };

  /// Starts epoch epoch() (stopping any epoch still running) and returns its first batch.
  Iterator begin();
  Iterator end() { return Iterator(); }
  /// Batches per epoch.
  int64_t size() const;
  /// The epoch the next begin() runs.
  int64_t epoch() const { return epoch_; }
  void set_epoch(int64_t epoch);
  uint64_t seed() const { return seed_; }
  const DataLoaderOptions& options() const { return options_; }
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }

 private:
  struct Run;
  /// Fills `out` with the next batch of the run `generation`; false at the end of the epoch.
  bool next(uint64_t generation, Example& out);

  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  std::shared_ptr<BatchSampler> batch_sampler_;
  uint64_t seed_ = 0;
  int64_t epoch_ = 0;
  bool pin_ = false;
  std::optional<Device> device_;
  uint64_t generation_ = 0;
  std::unique_ptr<Run> run_;
};

}  // namespace kiln::data
