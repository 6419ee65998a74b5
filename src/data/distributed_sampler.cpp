// DistributedSampler (torch.utils.data.distributed): each rank's share of a dataset, disjoint across ranks.
#include "kiln/data/distributed_sampler.h"

#include <algorithm>

#include "kiln/core/error.h"

namespace kiln::data {

DistributedSampler::DistributedSampler(int64_t n, int num_replicas, int rank, bool shuffle, uint64_t seed,
                                       bool drop_last)
    : n_(n), num_replicas_(num_replicas), rank_(rank), shuffle_(shuffle), seed_(seed), drop_last_(drop_last) {
  KILN_CHECK(n >= 0, "DistributedSampler: the number of samples must be non-negative, got ", n);
  KILN_CHECK(num_replicas >= 1, "DistributedSampler: num_replicas must be at least 1, got ", num_replicas);
  KILN_CHECK(rank >= 0 && rank < num_replicas, "DistributedSampler: rank ", rank, " is outside [0, ", num_replicas,
             ")");
  // PyTorch's counts: drop_last rounds the per-rank share down, otherwise up (padding makes up the difference).
  num_samples_ = drop_last ? n / num_replicas : (n + num_replicas - 1) / num_replicas;
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order = shuffle_ ? RandomSampler(n_, seed_).indices(epoch) : SequentialSampler(n_).indices(epoch);
  const size_t total = static_cast<size_t>(num_samples_) * static_cast<size_t>(num_replicas_);
  if (order.size() < total && !order.empty()) {
    // Repeat the order from its start (several times when n is smaller than the padding).
    for (size_t i = 0; order.size() < total; ++i) order.push_back(order[i]);
  }
  order.resize(std::min(order.size(), total));
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  for (size_t i = static_cast<size_t>(rank_); i < order.size(); i += static_cast<size_t>(num_replicas_))
    out.push_back(order[i]);
  return out;
}

}  // namespace kiln::data
