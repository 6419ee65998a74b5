// parallel_for over an index range on kiln's one CPU thread pool (OpenMP), serial below the grain size.
#pragma once
#include <omp.h>

#include <algorithm>
#include <exception>
#include <cstdint>

namespace kiln::cpu {

/// Elements per task below which splitting costs more than it saves (elementwise work).
constexpr int64_t kGrainSize = 32768;

/// Calls fn(begin, end) on disjoint chunks covering [begin, end). fn must not throw across threads:
/// an exception is caught per chunk and rethrown after the loop.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  if (n <= grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    fn(begin, end);
    return;
  }
  int64_t chunks = std::min<int64_t>(omp_get_max_threads(), (n + grain - 1) / grain);
  int64_t step = (n + chunks - 1) / chunks;
  bool failed = false;
  std::exception_ptr error;
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = begin + c * step, e = std::min(end, b + step);
    try {
      if (b < e) fn(b, e);
    } catch (...) {
#pragma omp critical
      {
        if (!failed) error = std::current_exception();
        failed = true;
      }
    }
  }
  if (error) std::rethrow_exception(error);
}
}  // namespace kiln::cpu
