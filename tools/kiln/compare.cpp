// `kiln compare`: common ops and a few training steps in float32 on the CPU and each GPU against a float64 CPU
// reference, with the largest differences, the expected tolerance and the usual causes.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"
#include "kiln/diag/compare.h"

namespace kiln::cli {
namespace {

struct CompareArgs {
  std::vector<std::string> devices;  // empty: the CPU and every GPU
  uint64_t seed = 0;
  int steps = 5;
  bool json = false;
};

std::vector<Device> devices_of(const std::vector<std::string>& names) {
  std::vector<Device> out;
  if (names.empty()) {
    out.emplace_back("cpu");
    for (int i = 0; i < cuda::device_count(); ++i) out.emplace_back(kCUDA, i);
    return out;
  }
  for (const std::string& n : names) {
    Device d(n);
    if (d.is_cuda()) {
      KILN_CHECK_DEVICE(cuda::is_available(), "kiln compare --device ", n, ": no usable GPU (",
                        cuda::unavailable_reason(), ")");
      if (d.index() < 0) d = Device(kCUDA, 0);
    }
    out.push_back(d);
  }
  return out;
}

void run_compare(const CompareArgs& a) {
  diag::CompareOptions o;
  o.devices = devices_of(a.devices);
  o.seed = a.seed;
  o.train_steps = a.steps;
  std::vector<diag::OpComparison> rows = diag::compare_devices(o);
  bool all_within = true;
  for (const auto& r : rows) all_within = all_within && r.within;
  if (a.json) {
    nlohmann::json j = {{"all_within", all_within}, {"rows", nlohmann::json::array()}};
    for (const auto& r : rows)
      j["rows"].push_back({{"op", r.op}, {"device", r.device}, {"max_abs_diff", r.max_abs_diff},
                           {"max_rel_diff", r.max_rel_diff}, {"tolerance", r.tolerance}, {"within", r.within}});
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << diag::format_comparisons(rows);
  }
  if (!all_within) set_exit_code(1);  // a difference beyond float32's expected error: worth a look
}
}  // namespace

void add_compare_command(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare", "Run common ops and training steps in float32 on each device against a float64 CPU reference");
  cmd->add_option("--device", args->devices, "cpu, cuda or cuda:N (repeatable; default: the CPU and every GPU)");
  cmd->add_option("--seed", args->seed, "Seed of the inputs and the model")->check(no_minus_sign())->capture_default_str();
  cmd->add_option("--steps", args->steps, "Adam steps of the default MLP (0: ops only)")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object instead of the table");
  cmd->callback([args] { run_compare(*args); });
}
}  // namespace kiln::cli
