// DistributedSampler (torch.utils.data.distributed): each rank's share of a dataset, disjoint across ranks.
#pragma once
#include <cstdint>

#include "kiln/data/dataloader.h"

namespace kiln::data {

/// The indices rank `rank` of `num_replicas` visits, by PyTorch's rule: shuffle 0..n-1 for epoch e as
/// RandomSampler(n, seed) does (or keep the order), pad by repeating the start of that order up to a multiple of
/// num_replicas (or, with drop_last, cut the tail to one), then take every num_replicas-th index from `rank`.
/// Every rank gets size() indices; together the ranks cover each sample once per epoch (plus the padding).
class DistributedSampler : public Sampler {
 public:
  /// num_replicas >= 1 and rank in [0, num_replicas) (ValueError otherwise): pass the group's size and rank.
  DistributedSampler(int64_t n, int num_replicas, int rank, bool shuffle = true, uint64_t seed = 0,
                     bool drop_last = false);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return num_samples_; }

 private:
  int64_t n_;
  int num_replicas_, rank_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  int64_t num_samples_;
};

}  // namespace kiln::data
