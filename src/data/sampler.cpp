// The samplers: sequential, random (one permutation per epoch from seed + epoch), subset-random, and batching.
#include <algorithm>
#include <numeric>
#include <utility>

#include "data/seeding.h"
#include "kiln/core/error.h"
#include "kiln/data/dataloader.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::data {
namespace {
// The permutation of epoch e: a fresh Generator(seed + e), so any epoch can be replayed on its own.
std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch) {
  Generator gen(seed + static_cast<uint64_t>(epoch));
  return randperm(n, TensorOptions(kInt64), &gen).to_vector<int64_t>();
}
}  // namespace

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  KILN_CHECK(n >= 0, "SequentialSampler: the number of samples must be non-negative, got ", n);
}

std::vector<int64_t> SequentialSampler::indices(int64_t) const {
  std::vector<int64_t> out(static_cast<size_t>(n_));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

RandomSampler::RandomSampler(int64_t n, uint64_t seed) : n_(n), seed_(seed) {
  KILN_CHECK(n >= 0, "RandomSampler: the number of samples must be non-negative, got ", n);
}

RandomSampler::RandomSampler(int64_t n) : RandomSampler(n, detail::seed_from_default_generator()) {}

std::vector<int64_t> RandomSampler::indices(int64_t epoch) const { return permutation(n_, seed_, epoch); }

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, uint64_t seed)
    : indices_(std::move(indices)), seed_(seed) {}

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices)
    : SubsetRandomSampler(std::move(indices), detail::seed_from_default_generator()) {}

std::vector<int64_t> SubsetRandomSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order = permutation(size(), seed_, epoch), out;
  out.reserve(order.size());
  for (int64_t i : order) out.push_back(indices_[static_cast<size_t>(i)]);
  return out;
}

BatchSampler::BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, bool drop_last)
    : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
  KILN_CHECK(sampler_ != nullptr, "BatchSampler: the sampler is null");
  KILN_CHECK(batch_size >= 1, "BatchSampler: batch_size must be at least 1, got ", batch_size);
}

std::vector<std::vector<int64_t>> BatchSampler::batches(int64_t epoch) const {
  std::vector<int64_t> order = sampler_->indices(epoch);
  std::vector<std::vector<int64_t>> out;
  out.reserve(order.size() / static_cast<size_t>(batch_size_) + 1);
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size_));
    if (drop_last_ && end - start < static_cast<size_t>(batch_size_)) break;
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

int64_t BatchSampler::size() const {
  const int64_t n = sampler_->size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

}  // namespace kiln::data
