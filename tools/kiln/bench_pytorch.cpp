// The PyTorch side of `kiln bench --compare-pytorch`: choosing the Python, running bench/pytorch/<suite>.py for
// one case at a time, and the libtorch per-op overhead program built on demand.
#include "bench_pytorch.h"

#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "fashion_task.h"
#include "kiln/core/error.h"

#ifndef KILN_BENCH_SOURCE_DIR
#define KILN_BENCH_SOURCE_DIR ""
#endif

namespace kiln::cli {
namespace fs = std::filesystem;
namespace {

/// Runs a shell command and returns its exit status and stdout; stderr goes to ours.
std::pair<int, std::string> capture(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, out};
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool has_scripts(const fs::path& dir) { return fs::exists(dir / "seed.py") && fs::exists(dir / "ops.py"); }
}  // namespace

std::string shell_quote(const std::string& word) {
  std::string q = "'";
  for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string find_bench_scripts() {
  if (const char* env = std::getenv("KILN_BENCH_SCRIPTS"); env != nullptr && *env != '\0') return env;
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    const fs::path beside = fs::path(buf).parent_path().parent_path() / "bench" / "pytorch";
    if (has_scripts(beside)) return beside.string();
  }
  const fs::path source = fs::path(KILN_BENCH_SOURCE_DIR) / "pytorch";
  return has_scripts(source) ? source.string() : std::string();
}

TorchSide::TorchSide(const std::string& python, int threads, const BenchSettings& settings)
    : threads_(threads), settings_(settings) {
  scripts_ = find_bench_scripts();
  KILN_CHECK(!scripts_.empty(), "--compare-pytorch: the PyTorch scripts (bench/pytorch/*.py) are not next to this "
             "kiln nor in its source tree; set KILN_BENCH_SCRIPTS to their folder");
  const fs::path venv = fs::path(scripts_).parent_path() / ".venv-torch" / "bin" / "python";
  std::string source;
  if (!python.empty()) {
    python_ = python, source = "--python";
  } else if (fs::exists(venv)) {
    python_ = venv.string(), source = "bench/.venv-torch, made by bench/setup_torch_venv.sh";
  } else {
    python_ = "/usr/bin/python3", source = "Debian's python3-torch; bench/setup_torch_venv.sh adds PyPI's torch";
  }
  auto [code, out] = capture(shell_quote(python_) + " -c 'import torch; print(torch.__version__)' 2>/dev/null");
  KILN_CHECK(code == 0 && !trim(out).empty(), "--compare-pytorch: '", python_, "' cannot import torch (",
             source, "); pass --python with a Python that has it");
  version_ = trim(out);
  description_ = "torch " + version_ + " from " + python_ + " (" + source + ")";
  if (settings_.data_dir.empty()) settings_.data_dir = make_task(settings_.dataset, "").data_dir;
}

std::vector<nlohmann::json> TorchSide::run_command(const std::string& command) const {
  auto [code, out] = capture(command);
  KILN_CHECK(code == 0, "--compare-pytorch: the PyTorch side failed (exit ", code, "): ", command);
  std::vector<nlohmann::json> rows;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_object()) rows.push_back(row);
  }
  KILN_CHECK(!rows.empty(), "--compare-pytorch: no result line from: ", command);
  return rows;
}

std::string TorchSide::overhead_program() const {
  if (overhead_tried_) return overhead_program_;
  overhead_tried_ = true;
  // ops.py knows torch's include and library folders and its C++ ABI; it prints the cached program's path.
  auto [code, out] = capture(shell_quote(python_) + " " + shell_quote(scripts_ + "/ops.py") + " --build-overhead");
  if (code == 0 && fs::exists(trim(out))) {
    overhead_program_ = trim(out);
  } else {
    std::cerr << "kiln bench: the libtorch per-op program (bench/pytorch/ops_overhead.cpp) did not build; the "
                 "PyTorch overhead rows are Python figures (impl torch-python)\n";
  }
  return overhead_program_;
}

std::vector<nlohmann::json> TorchSide::run(const BenchCase& c) const {
  const std::string common = " --device " + shell_quote(c.device.str()) + " --threads " + std::to_string(threads_) +
                             (settings_.quick ? " --quick" : "") + " --case " + shell_quote(c.keys.dump());
  std::string command;
  // The libtorch program measures host cost on the CPU; on a GPU the Python figures synchronise as kiln does.
  if (c.suite == "ops" && c.keys.at("kind") == "overhead" && c.device.is_cpu() && !overhead_program().empty()) {
    command = shell_quote(overhead_program_) + common;
  } else {
    command = shell_quote(python_) + " " + shell_quote(scripts_ + "/" + c.suite + ".py") + common + " --dataset " +
              shell_quote(settings_.dataset) + " --data " + shell_quote(settings_.data_dir);
  }
  std::vector<nlohmann::json> rows = run_command(command);
  for (auto& row : rows) {
    row["torch"] = version_;
    for (auto it = c.keys.begin(); it != c.keys.end(); ++it) row[it.key()] = it.value();
  }
  return rows;
}
}  // namespace kiln::cli
