// Dataset's default batching, TensorDataset (one index_select per tensor), Subset and random_split.
#include "kiln/data/dataset.h"

#include <cmath>
#include <numeric>
#include <utility>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"

namespace kiln::data {
namespace {

void check_index(int64_t index, int64_t size, const char* what) {
  KILN_CHECK_INDEX(index >= 0 && index < size, what, ": index ", index, " is out of range for a dataset of ", size,
                   " samples (valid: 0 to ", size - 1, ")");
}

// The int64 index tensor on `device`, for index_select.
Tensor index_tensor(const std::vector<int64_t>& indices, Device device) {
  return tensor(indices, {static_cast<int64_t>(indices.size())}, TensorOptions(kInt64).device(device));
}

Tensor stack_all(const std::vector<Tensor>& parts, const char* what) {
  size_t defined = 0;
  for (const Tensor& t : parts) defined += t.defined() ? 1 : 0;
  if (defined == 0) return Tensor();
  KILN_CHECK(defined == parts.size(), "Dataset::get_batch: some samples have a ", what, " and others do not");
  return stack(parts, 0);
}
}  // namespace

Example Dataset::get_batch(const std::vector<int64_t>& indices) const {
  KILN_CHECK(!indices.empty(), "Dataset::get_batch: the list of indices is empty");
  std::vector<Tensor> data, target;
  data.reserve(indices.size());
  target.reserve(indices.size());
  const int64_t n = size();
  for (int64_t i : indices) {
    check_index(i, n, "Dataset::get_batch");
    Example e = get(i);
    data.push_back(std::move(e.data));
    target.push_back(std::move(e.target));
  }
  return {stack_all(data, "data tensor"), stack_all(target, "target")};
}

TensorDataset::TensorDataset(Tensor data, Tensor targets) { reset(std::move(data), std::move(targets)); }

void TensorDataset::reset(Tensor data, Tensor targets) {
  KILN_CHECK(data.defined(), "TensorDataset: the data tensor is undefined");
  KILN_CHECK_SHAPE(data.dim() >= 1, "TensorDataset: the data tensor needs a first (sample) dim, got a 0-dim tensor");
  if (targets.defined()) {
    KILN_CHECK_SHAPE(targets.dim() >= 1,
                     "TensorDataset: the targets tensor needs a first (sample) dim, got a 0-dim tensor");
    KILN_CHECK_SHAPE(data.size(0) == targets.size(0), "TensorDataset: data of shape ", data.shape_str(),
                     " and targets of shape ", targets.shape_str(),
                     " must have the same first dim (one target per sample)");
  }
  data_ = std::move(data);
  targets_ = std::move(targets);
  size_ = data_.size(0);
}

Example TensorDataset::get(int64_t index) const {
  check_index(index, size_, "TensorDataset::get");
  return {data_.select(0, index), targets_.defined() ? targets_.select(0, index) : Tensor()};
}

Example TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  KILN_CHECK(!indices.empty(), "TensorDataset::get_batch: the list of indices is empty");
  for (int64_t i : indices) check_index(i, size_, "TensorDataset::get_batch");
  // Batches are inputs, not part of a graph: even if the stored tensors require grad, do not record.
  NoGradGuard no_grad;
  Example out;
  Tensor idx = index_tensor(indices, data_.device());
  out.data = index_select(data_, 0, idx);
  if (targets_.defined()) {
    if (targets_.device() != data_.device()) idx = index_tensor(indices, targets_.device());
    out.target = index_select(targets_, 0, idx);
  }
  return out;
}

Subset::Subset(std::shared_ptr<Dataset> dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  KILN_CHECK(dataset_ != nullptr, "Subset: the dataset is null");
  const int64_t n = dataset_->size();
  for (int64_t i : indices_) check_index(i, n, "Subset");
}

Example Subset::get(int64_t index) const {
  check_index(index, size(), "Subset::get");
  return dataset_->get(indices_[static_cast<size_t>(index)]);
}

Example Subset::get_batch(const std::vector<int64_t>& indices) const {
  KILN_CHECK(!indices.empty(), "Subset::get_batch: the list of indices is empty");
  std::vector<int64_t> mapped;
  mapped.reserve(indices.size());
  for (int64_t i : indices) {
    check_index(i, size(), "Subset::get_batch");
    mapped.push_back(indices_[static_cast<size_t>(i)]);
  }
  return dataset_->get_batch(mapped);
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<Dataset> dataset,
                                                  const std::vector<int64_t>& lengths, Generator* gen) {
  KILN_CHECK(dataset != nullptr, "random_split: the dataset is null");
  KILN_CHECK(!lengths.empty(), "random_split: give at least one length");
  const int64_t n = dataset->size();
  int64_t total = 0;
  for (int64_t l : lengths) {
    KILN_CHECK(l >= 0, "random_split: lengths must be non-negative, got ", l);
    total += l;
  }
  KILN_CHECK(total == n, "random_split: the lengths add up to ", total, " but the dataset has ", n,
             " samples; give counts that add up to ", n, " or fractions that add up to 1");
  std::vector<int64_t> perm = randperm(n, TensorOptions(kInt64), gen).to_vector<int64_t>();
  std::vector<std::shared_ptr<Subset>> out;
  int64_t start = 0;
  for (int64_t l : lengths) {
    std::vector<int64_t> part(perm.begin() + start, perm.begin() + start + l);
    out.push_back(std::make_shared<Subset>(dataset, std::move(part)));
    start += l;
  }
  return out;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<Dataset> dataset, const std::vector<double>& lengths,
                                                  Generator* gen) {
  KILN_CHECK(dataset != nullptr, "random_split: the dataset is null");
  KILN_CHECK(!lengths.empty(), "random_split: give at least one length");
  const int64_t n = dataset->size();
  double sum = 0;
  bool all_fractions = true;
  for (double l : lengths) {
    KILN_CHECK(std::isfinite(l) && l >= 0, "random_split: lengths must be finite and non-negative, got ", l);
    sum += l;
    all_fractions = all_fractions && l <= 1.0;
  }
  std::vector<int64_t> counts;
  if (all_fractions && std::fabs(sum - 1.0) < 1e-6 && static_cast<double>(n) != sum) {
    // Fractions, as PyTorch turns them into counts: floor, then the remainder round-robin from the first.
    int64_t assigned = 0;
    for (double f : lengths) {
      counts.push_back(static_cast<int64_t>(std::floor(f * static_cast<double>(n))));
      assigned += counts.back();
    }
    for (int64_t i = 0; assigned < n; ++i, ++assigned) ++counts[static_cast<size_t>(i) % counts.size()];
  } else {
    for (double l : lengths) {
      KILN_CHECK(l == std::floor(l), "random_split: ", l,
                 " is neither a whole number of samples nor part of fractions that add up to 1 (they add up to ",
                 sum, ")");
      counts.push_back(static_cast<int64_t>(l));
    }
  }
  return random_split(std::move(dataset), counts, gen);
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<Dataset> dataset, std::initializer_list<double> lengths,
                                                  Generator* gen) {
  return random_split(std::move(dataset), std::vector<double>(lengths), gen);
}

}  // namespace kiln::data
