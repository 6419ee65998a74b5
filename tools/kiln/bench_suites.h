// `kiln bench`'s workloads: the seed, fashion and ops suites as rows (one JSON object per measured case),
// and the machine peaks (BLAS FLOP/s, copy bandwidth) they are reported against.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/core/device.h"

namespace kiln::cli {

/// Settings every suite shares.
struct BenchSettings {
  bool quick = false;           ///< tiny sizes for the tests: checks that every row runs, measures nothing
  std::string dataset = "fashion-mnist", data_dir;  ///< the fashion suite's data, as `kiln train` takes it
};

/// One case of a suite on one device, before it runs: the suite, the device and the case's own keys
/// ({"layers": 10}, {"model": "mlp", "precision": "float32"}, {"op": "add", "kind": "overhead"}). The PyTorch
/// twin of a case is selected by the same keys, so kiln and torch rows pair up.
struct BenchCase {
  std::string suite;
  Device device;
  nlohmann::json keys;
};

/// The suites by name, in the order `--suite all` runs them.
const std::vector<std::string>& bench_suite_names();
/// The cases of `suite` on `device`, in run order (ValueError for an unknown suite).
std::vector<BenchCase> bench_cases(const std::string& suite, const Device& device, const BenchSettings& s);
/// Runs one case with kiln and returns its row: the case's keys plus "impl": "kiln", "device" and the
/// measured fields of its suite.
nlohmann::json run_kiln_case(const BenchCase& c, const BenchSettings& s);

// The suites, each in its own file.
std::vector<nlohmann::json> seed_case_keys(const Device& device, bool quick);
nlohmann::json run_seed_case(const nlohmann::json& keys, const Device& device, bool quick);
std::vector<nlohmann::json> fashion_case_keys(const Device& device);
nlohmann::json run_fashion_case(const nlohmann::json& keys, const Device& device, const BenchSettings& s);
std::vector<nlohmann::json> ops_case_keys();
nlohmann::json run_ops_case(const nlohmann::json& keys, const Device& device, bool quick);

/// Measured machine peaks, each measured once per process and device and then reused.
struct Peaks {
  /// FLOP/s of a large float32 GEMM (OpenBLAS' cblas_sgemm on the CPU, kiln::mm = cuBLAS on a GPU).
  static double gemm_flops(const Device& d, bool quick);
  /// FLOP/s of one float32 GEMM C[m,n] = op(A) op(B) of this shape and layout, at the BLAS's own rate.
  static double gemm_flops_for(const Device& d, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
                               bool quick);
  /// Bytes per second (read + write) of a large buffer-to-buffer copy (memcpy, or a device-to-device copy).
  static double copy_bytes_per_s(const Device& d, bool quick);
};

/// Seconds of the fastest of `reps` runs of fn (after one untimed run), each run synchronised on device.
double best_seconds(const Device& device, int reps, const std::function<void()>& fn);
}  // namespace kiln::cli
