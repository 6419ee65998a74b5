// Datasets (torch.utils.data): the Dataset interface, TensorDataset, Subset and random_split.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln::data {

/// One sample, or a batch of samples stacked along a new first dim. target is undefined for unlabelled data.
struct Example {
  Tensor data;
  Tensor target;
};

/// A map-style dataset: samples addressed by an index in [0, size()).
/// Implementations must allow get() and get_batch() to be called from several threads at once
/// (DataLoader workers do), which is why they are const.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual int64_t size() const = 0;
  /// Sample `index`; throws IndexError when index is outside [0, size()).
  virtual Example get(int64_t index) const = 0;
  /// The samples at `indices` stacked along a new dim 0 (their order kept). The default stacks get()
  /// results; datasets held in tensors override it with one gather per tensor, which the DataLoader relies
  /// on for speed. Throws ValueError for an empty list and IndexError for an index out of range.
  virtual Example get_batch(const std::vector<int64_t>& indices) const;
};

/// Samples are rows of tensors held in memory: sample i is {data[i], targets[i]}.
class TensorDataset : public Dataset {
 public:
  /// data and targets must have the same first dim (ShapeError otherwise); targets may be undefined
  /// (unlabelled data). Both must have at least one dim.
  TensorDataset(Tensor data, Tensor targets);
  int64_t size() const override { return size_; }
  /// Views of row `index` of data and targets (no copy).
  Example get(int64_t index) const override;
  /// One index_select per tensor, on the device the tensor lives on.
  Example get_batch(const std::vector<int64_t>& indices) const override;
  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 protected:
  TensorDataset() = default;
  /// For subclasses that load their tensors in their own constructor.
  void reset(Tensor data, Tensor targets);

 private:
  Tensor data_, targets_;
  int64_t size_ = 0;
};

/// The samples of `dataset` at `indices`, in that order: subset[i] is dataset[indices[i]].
class Subset : public Dataset {
 public:
  /// Every index must lie in [0, dataset->size()) (IndexError otherwise); repeats are allowed.
  Subset(std::shared_ptr<Dataset> dataset, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t index) const override;
  /// Maps the indices and forwards to the underlying dataset's get_batch, so its fast path is kept.
  Example get_batch(const std::vector<int64_t>& indices) const override;
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<Dataset> dataset_;
  std::vector<int64_t> indices_;
};

/// Splits `dataset` into non-overlapping random Subsets, like torch.utils.data.random_split.
/// `lengths` are either sample counts that add up to dataset->size(), or fractions in [0, 1] that add up to 1
/// (counts are then floor(fraction * size), with the remainder given one by one to the first subsets).
/// Anything else throws ValueError. The permutation comes from `gen` (the default generator when null), so
/// the same seed gives the same split.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<Dataset> dataset, const std::vector<double>& lengths,
                                                  Generator* gen = nullptr);
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<Dataset> dataset,
                                                  const std::vector<int64_t>& lengths, Generator* gen = nullptr);
/// Lets both random_split(ds, {800, 200}) and random_split(ds, {0.8, 0.2}) compile unambiguously.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<Dataset> dataset, std::initializer_list<double> lengths,
                                                  Generator* gen = nullptr);

}  // namespace kiln::data
