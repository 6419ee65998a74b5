// `kiln bench`: the seed, fashion and ops suites on every device present, as a table or JSON lines, and with
// --compare-pytorch the same workloads in PyTorch run interleaved with kiln's, case by case, with the ratio.
#include <cstdio>
#include <iostream>
#include <memory>

#include "bench_pytorch.h"
#include "bench_suites.h"
#include "commands.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

struct BenchArgs {
  std::string suite = "all", device = "all", python;
  std::vector<std::string> only;  ///< KEY=VALUE filters on the cases' keys (--only layers=10)
  int threads = 0;
  bool json = false, compare = false;
  BenchSettings settings;
};

/// The figure a row is judged by, and whether more is better: the ratio kiln/torch is always "how many
/// times faster kiln is" (over 1: kiln is faster).
struct Headline {
  const char* field;
  const char* unit;
  bool higher_is_better;
};
Headline headline(const nlohmann::json& row) {
  const std::string suite = row.at("suite");
  if (suite == "seed") return {"steps_per_s", "steps/s", true};
  if (suite == "fashion") return {"seconds_per_epoch", "s/epoch", false};
  if (row.at("kind") == "overhead") return {"us_per_call", "us/call", false};
  return {"rate", row.value("unit", "") == "GB/s" ? "GB/s" : "GFLOP/s", true};
}

/// "layers=10", "model=mlp precision=float32", "overhead add": the case's keys as a table label.
std::string case_label(const nlohmann::json& keys) {
  std::string label;
  for (auto it = keys.begin(); it != keys.end(); ++it)
    label += (label.empty() ? "" : " ") + it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
  return label;
}

void print_row(const BenchArgs& a, const BenchCase& c, const nlohmann::json& row) {
  if (a.json) {
    std::cout << row.dump() << std::endl;
    return;
  }
  const Headline h = headline(row);
  std::string impl = row.at("impl");
  if (row.contains("torch")) impl += " " + row["torch"].get<std::string>();
  std::string extra;
  char buf[128];
  if (row.contains("fraction_of_floor")) {
    std::snprintf(buf, sizeof buf, "  floor %.1f steps/s (kiln at %.0f%% of it)", row["floor_steps_per_s"].get<double>(),
                  100 * row["fraction_of_floor"].get<double>());
    extra += buf;
  }
  if (row.contains("fraction_of_peak")) {
    std::snprintf(buf, sizeof buf, "  %.0f%% of the measured peak %.1f %s", 100 * row["fraction_of_peak"].get<double>(),
                  row["peak"].get<double>(), h.unit);
    extra += buf;
  }
  if (row.contains("kernels_per_step")) {
    std::snprintf(buf, sizeof buf, "  %.0f kernels/step", row["kernels_per_step"].get<double>());
    extra += buf;
  }
  if (row.contains("final_loss")) {
    std::snprintf(buf, sizeof buf, "  loss %.4f", row["final_loss"].get<double>());
    extra += buf;
  }
  std::printf("%-8s %-7s %-34s %-20s %10.3f %-8s%s\n", c.suite.c_str(), c.device.str().c_str(),
              case_label(c.keys).c_str(), impl.c_str(), row.at(h.field).get<double>(), h.unit, extra.c_str());
  std::fflush(stdout);
}

/// kiln's speed over torch's for one case: a row of its own ("impl": "ratio").
nlohmann::json ratio_row(const BenchCase& c, const nlohmann::json& kiln, const nlohmann::json& torch) {
  const Headline h = headline(kiln);
  const double k = kiln.at(h.field), t = torch.at(h.field);
  nlohmann::json row = c.keys;
  row.update({{"suite", c.suite}, {"device", c.device.str()}, {"impl", "ratio"}, {"metric", h.field},
              {"versus", torch.at("impl")}, {"torch", torch.value("torch", "")},
              {"kiln_speed_over_torch", h.higher_is_better ? k / t : t / k}});
  return row;
}

void print_ratio(const BenchArgs& a, const BenchCase& c, const nlohmann::json& row) {
  if (a.json) {
    std::cout << row.dump() << std::endl;
    return;
  }
  std::printf("%-8s %-7s %-34s %-20s %10.2fx  (kiln over %s; over 1: kiln is faster)\n", c.suite.c_str(),
              c.device.str().c_str(), case_label(c.keys).c_str(), "kiln/torch", row["kiln_speed_over_torch"].get<double>(),
              row["versus"].get<std::string>().c_str());
  std::fflush(stdout);
}

/// Whether a case passes every --only KEY=VALUE filter whose key it has (a suite without that key runs whole).
bool selected(const BenchCase& c, const std::vector<std::string>& only) {
  for (const std::string& filter : only) {
    const size_t eq = filter.find('=');
    KILN_CHECK(eq != std::string::npos && eq > 0, "--only takes KEY=VALUE (e.g. layers=10, model=mlp, op=add), got '",
               filter, "'");
    auto it = c.keys.find(filter.substr(0, eq));
    if (it == c.keys.end()) continue;
    const std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    if (value != filter.substr(eq + 1)) return false;
  }
  return true;
}

std::vector<Device> devices_for(const std::string& spec) {
  KILN_CHECK(spec == "all" || spec == "cpu" || spec.rfind("cuda", 0) == 0, "--device must be cpu, cuda, cuda:N or all, got '",
             spec, "'");
  if (spec != "all") return {resolve_device(Device(spec))};
  std::vector<Device> devices = {Device("cpu")};
  if (cuda::is_available()) devices.push_back(Device("cuda:0"));
  return devices;
}

void run_bench(BenchArgs a) {
  std::vector<std::string> suites;
  if (a.suite == "all") {
    suites = bench_suite_names();
  } else {
    suites = {a.suite};
  }
  const std::vector<Device> devices = devices_for(a.device);
  if (a.threads > 0) set_num_threads(a.threads);
  const int threads = get_num_threads();
  std::unique_ptr<TorchSide> torch;
  if (a.compare) torch = std::make_unique<TorchSide>(a.python, threads, a.settings);
  std::ostream& note = a.json ? std::cerr : std::cout;
  // The BLAS line names the kernels OpenBLAS runs (the tool may have chosen them: blas_core.h); PyTorch's
  // scripts inherit the same environment.
  note << "kiln bench: " << threads << " CPU threads, BLAS " << blas_config()
       << (a.settings.quick ? ", --quick sizes (not a measurement)" : "") << "\n";
  if (torch) note << "pytorch: " << torch->description() << ", interleaved with kiln case by case\n";
  for (const Device& device : devices) {
    for (const std::string& suite : suites) {
      for (const BenchCase& c : bench_cases(suite, device, a.settings)) {
        if (!selected(c, a.only)) continue;
        const nlohmann::json kiln_row = run_kiln_case(c, a.settings);
        print_row(a, c, kiln_row);
        if (!torch) continue;
        for (const nlohmann::json& torch_row : torch->run(c)) {
          nlohmann::json row = torch_row;
          row["suite"] = suite;
          // One peak for both sides, the one kiln measured: fractions of the same number compare directly.
          if (kiln_row.contains("peak") && row.contains("rate")) {
            row["peak"] = kiln_row["peak"];
            row["fraction_of_peak"] = row["rate"].get<double>() / kiln_row["peak"].get<double>();
          }
          print_row(a, c, row);
          print_ratio(a, c, ratio_row(c, kiln_row, row));
        }
      }
    }
  }
}
}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure kiln's speed (seed MLP, Fashion-MNIST epochs, per-op cost), "
                                          "optionally side by side with PyTorch");
  std::vector<std::string> suite_choices = bench_suite_names();
  suite_choices.push_back("all");
  cmd->add_option("--suite", args->suite, "seed, fashion, ops or all")
      ->check(CLI::IsMember(suite_choices))
      ->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda, cuda:N, or all (every device present)")->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads for kiln and PyTorch alike (0: kiln's default)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--only", args->only,
                  "Run only the cases whose KEY is VALUE (layers=10, model=mlp, kind=overhead, op=add)");
  cmd->add_flag("--json", args->json, "One JSON object per row on stdout (notes go to stderr)");
  auto* compare = cmd->add_flag("--compare-pytorch", args->compare,
                                "Run bench/pytorch's twin of each case right after kiln's and print kiln's speed over "
                                "PyTorch's");
  cmd->add_option("--python", args->python,
                  "Python with torch for --compare-pytorch (default: bench/.venv-torch if present, else "
                  "/usr/bin/python3)")
      ->needs(compare);
  cmd->add_option("--dataset", args->settings.dataset, "fashion suite: fashion-mnist or mnist")->capture_default_str();
  cmd->add_option("--data", args->settings.data_dir, "fashion suite: folder with the IDX files (as kiln train)");
  // Tiny sizes for the tests: every case runs end to end in well under a second; the figures mean nothing.
  cmd->add_flag("--quick", args->settings.quick, "")->group("");
  cmd->callback([args] { run_bench(*args); });
}

const std::vector<std::string>& bench_suite_names() {
  static const std::vector<std::string> names = {"seed", "fashion", "ops"};
  return names;
}

std::vector<BenchCase> bench_cases(const std::string& suite, const Device& device, const BenchSettings& s) {
  std::vector<nlohmann::json> keys;
  if (suite == "seed") {
    keys = seed_case_keys(device, s.quick);
  } else if (suite == "fashion") {
    keys = fashion_case_keys(device);
  } else if (suite == "ops") {
    keys = ops_case_keys();
  } else {
    throw ValueError("kiln bench: no suite named '" + suite + "' (seed, fashion or ops)");
  }
  std::vector<BenchCase> cases;
  for (auto& k : keys) cases.push_back({suite, device, k});
  return cases;
}

nlohmann::json run_kiln_case(const BenchCase& c, const BenchSettings& s) {
  nlohmann::json row;
  if (c.suite == "seed") {
    row = run_seed_case(c.keys, c.device, s.quick);
  } else if (c.suite == "fashion") {
    row = run_fashion_case(c.keys, c.device, s);
  } else {
    row = run_ops_case(c.keys, c.device, s.quick);
  }
  row.update({{"suite", c.suite}, {"impl", "kiln"}, {"device", c.device.str()}});
  return row;
}
}  // namespace kiln::cli
