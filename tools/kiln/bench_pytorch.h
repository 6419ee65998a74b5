// `kiln bench --compare-pytorch`: finds a Python with torch and runs bench/pytorch's twin of a kiln case.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_suites.h"

namespace kiln::cli {

/// The PyTorch side of a comparison: which Python, which torch, where the scripts are.
class TorchSide {
 public:
  /// Uses `python` when given; else bench/.venv-torch (bench/setup_torch_venv.sh) when present; else Debian's
  /// /usr/bin/python3. Throws ValueError when that Python cannot import torch or the scripts are not found.
  /// `threads` is passed to every script (torch.set_num_threads), as kiln runs with the same number.
  TorchSide(const std::string& python, int threads, const BenchSettings& settings);
  /// "torch 2.5.1 from /path/venv/bin/python (bench/.venv-torch)": printed before the rows.
  const std::string& description() const { return description_; }
  const std::string& version() const { return version_; }
  /// The PyTorch rows of one case (usually one), with "impl" "torch" (or "torch-cpp" for the libtorch
  /// per-op overhead program, "torch-python" when it could not be built) and "torch": the version.
  std::vector<nlohmann::json> run(const BenchCase& c) const;

 private:
  std::vector<nlohmann::json> run_command(const std::string& command) const;
  /// Builds (once, cached by torch version) bench/pytorch/ops_overhead.cpp against torch's own headers and
  /// libraries; empty with a printed reason when it cannot be built.
  std::string overhead_program() const;

  std::string python_, scripts_, description_, version_;
  int threads_;
  BenchSettings settings_;
  mutable bool overhead_tried_ = false;
  mutable std::string overhead_program_;
};

/// Where bench/pytorch is: $KILN_BENCH_SCRIPTS, then next to the binary (<prefix>/bench/pytorch, as in the
/// GPU bundle), then the source tree kiln was built from. Empty when none has the scripts.
std::string find_bench_scripts();
/// Quotes a word for /bin/sh.
std::string shell_quote(const std::string& word);
}  // namespace kiln::cli
