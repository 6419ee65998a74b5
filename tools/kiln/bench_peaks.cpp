// The peaks `kiln bench` reports against: the best float32 GEMM rate (overall and per shape) and the
// machine's memory-copy bandwidth, each measured on the spot, never assumed.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>
#include <vector>

#include "bench_suites.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

void sync(const Device& d) {
  if (d.is_cuda()) cuda::synchronize(d.index());
}

/// GEMM FLOP/s of one shape: on the CPU the faster of cblas_sgemm (OpenBLAS itself, no kiln code in the loop) and
/// kiln::mm (which takes oneDNN's sgemm for the shapes where that is faster); kiln::mm on a GPU (cuBLAS behind one
/// kiln op, whose host cost is far below a GPU GEMM's time at the sizes measured).
double measure_gemm(const Device& d, int64_t m, int64_t n, int64_t k, bool ta, bool tb, int reps) {
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  Tensor ta_ = randn(ta ? Shape{k, m} : Shape{m, k}, d), tb_ = randn(tb ? Shape{n, k} : Shape{k, n}, d);
  const Tensor a_op = ta ? ta_.t() : ta_, b_op = tb ? tb_.t() : tb_;
  const double through_kiln = flops / best_seconds(d, reps, [&] { (void)a_op.mm(b_op); });
  if (d.is_cpu()) {
    std::vector<float> a(static_cast<size_t>(m * k), 0.5f), b(static_cast<size_t>(k * n), 0.25f),
        c(static_cast<size_t>(m * n));
    const int lda = static_cast<int>(ta ? m : k), ldb = static_cast<int>(tb ? k : n);
    const double s = best_seconds(d, reps, [&] {
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(n), static_cast<int>(k), 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(),
                  static_cast<int>(n));
    });
    return std::max(flops / s, through_kiln);
  }
  return through_kiln;
}
}  // namespace

double best_seconds(const Device& device, int reps, const std::function<void()>& fn) {
  fn();
  sync(device);
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync(device);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double Peaks::gemm_flops(const Device& d, bool quick) {
  const int64_t n = quick ? 128 : (d.is_cuda() ? 8192 : 2048);
  return gemm_flops_for(d, n, n, n, false, false, quick);
}

double Peaks::gemm_flops_for(const Device& d, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
                             bool quick) {
  static std::map<std::tuple<std::string, int64_t, int64_t, int64_t, bool, bool>, double> measured;
  auto key = std::make_tuple(d.str(), m, n, k, trans_a, trans_b);
  auto it = measured.find(key);
  if (it != measured.end()) return it->second;
  // Small shapes repeat many times so that the best of them is a steady-state figure, not a cold cache.
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int reps = quick ? 2 : static_cast<int>(std::clamp(2e9 / flops, 5.0, 2000.0));
  return measured[key] = measure_gemm(d, m, n, k, trans_a, trans_b, reps);
}

double Peaks::copy_bytes_per_s(const Device& d, bool quick) {
  static std::map<std::string, double> measured;
  auto it = measured.find(d.str());
  if (it != measured.end()) return it->second;
  // 64 MiB each way: far beyond the last-level cache, so this is DRAM bandwidth.
  const int64_t elements = quick ? (1 << 16) : (16 << 20);
  const double bytes = 2.0 * 4.0 * static_cast<double>(elements);
  double seconds = 0;
  if (d.is_cpu()) {
    // The buffers are written first so that page faults are not timed. One memcpy per thread, with as many
    // threads as kiln's ops use: a single core cannot saturate the memory bus on most machines.
    std::vector<float> src(static_cast<size_t>(elements), 1.0f), dst(static_cast<size_t>(elements), 0.0f);
    const int threads = get_num_threads();
    seconds = best_seconds(d, quick ? 2 : 10, [&] {
      const int64_t chunk = (elements + threads - 1) / threads;
      std::vector<std::thread> workers;
      for (int t = 0; t < threads; ++t) {
        const int64_t begin = std::min<int64_t>(elements, t * chunk), end = std::min<int64_t>(elements, begin + chunk);
        workers.emplace_back([&dst, &src, begin, end] {
          std::memcpy(dst.data() + begin, src.data() + begin, static_cast<size_t>(end - begin) * sizeof(float));
        });
      }
      for (auto& w : workers) w.join();
    });
  } else {
    Tensor src = ones({elements}, d), dst = zeros({elements}, d);
    seconds = best_seconds(d, quick ? 2 : 20, [&] { dst.copy_(src); });
  }
  return measured[d.str()] = bytes / seconds;
}
}  // namespace kiln::cli
