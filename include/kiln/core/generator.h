// Generator: a seeded counter-based random source (Philox4x32-10) that gives the same numbers on CPU and CUDA.
#pragma once
#include <cstdint>
#include <mutex>

namespace kiln {

/// Seeded random state. Each draw of n numbers takes the next n counter values, so a tensor filled on
/// CUDA equals the same tensor filled on CPU from the same state.
class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL) : seed_(seed) {}
  void manual_seed(uint64_t seed) {
    std::lock_guard<std::mutex> g(mu_);
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t o) { offset_ = o; }
  /// Reserves n counter values; returns the first.
  uint64_t advance(uint64_t n) {
    std::lock_guard<std::mutex> g(mu_);
    uint64_t start = offset_;
    offset_ += (n + 3) / 4 * 4;
    return start;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
  std::mutex mu_;
};

/// The process-wide default generator (torch's default_generator).
Generator& default_generator();
/// Seeds the default generator (torch.manual_seed).
void manual_seed(uint64_t seed);
}  // namespace kiln
