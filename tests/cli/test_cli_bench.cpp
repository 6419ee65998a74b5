// `kiln bench`: its command line as `kiln` parses it, and a --quick run of every suite (with PyTorch's twin
// when Debian's torch is installed) checking each JSON row's fields. No timing is asserted: timing lives in
// the benchmarks themselves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench_suites.h"
#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"
#include "commands.h"
#include "kiln/core/error.h"

namespace kiln::test {
namespace {

/// Parses `kiln <words>` as the tool does; returns the CLI11 error message, or "" when it parses.
std::string parse_error(std::vector<const char*> words) {
  words.insert(words.begin(), "kiln");
  std::unique_ptr<CLI::App> app = cli::make_app();
  try {
    cli::parse_only(*app, static_cast<int>(words.size()), words.data());
  } catch (const CLI::ParseError& e) {
    return e.what()[0] ? e.what() : "parse error";
  }
  return "";
}

TEST(KilnBenchArgs, AcceptsTheDocumentedOptions) {
  EXPECT_EQ(parse_error({"bench"}), "");
  EXPECT_EQ(parse_error({"bench", "--suite", "seed", "--device", "cpu", "--json", "--threads", "2"}), "");
  EXPECT_EQ(parse_error({"bench", "--suite", "all", "--compare-pytorch", "--python", "/usr/bin/python3"}), "");
  EXPECT_EQ(parse_error({"bench", "--suite", "fashion", "--dataset", "mnist", "--data", "/tmp/x", "--quick"}), "");
  EXPECT_EQ(parse_error({"bench", "--only", "layers=10", "--only", "model=mlp", "--suite", "all"}), "");
}

TEST(KilnBenchArgs, RefusesBadOptions) {
  EXPECT_NE(parse_error({"bench", "--suite", "speed"}), "") << "an unknown suite";
  EXPECT_NE(parse_error({"bench", "--python", "/usr/bin/python3"}), "") << "--python without --compare-pytorch";
  EXPECT_NE(parse_error({"bench", "--threads", "-1"}), "");
  EXPECT_NE(parse_error({"bench", "--threads", "two"}), "");
}

TEST(KilnBenchCases, EverySuiteListsItsCases) {
  cli::BenchSettings s;
  const Device cpu("cpu");
  EXPECT_EQ(cli::bench_cases("seed", cpu, s).size(), 2u);  // 10 and 50 layers
  EXPECT_EQ(cli::bench_cases("seed", cpu, s)[1].keys.at("layers"), 50);
  const auto gpu_seed = cli::bench_cases("seed", Device("cuda"), s);  // each depth eager and as a CUDA graph
  ASSERT_EQ(gpu_seed.size(), 4u);
  EXPECT_EQ(gpu_seed[1].keys.at("graph"), true);
  EXPECT_EQ(gpu_seed[1].keys.at("layers"), 10);
  EXPECT_THROW(cli::run_seed_case(gpu_seed[1].keys, cpu, true), Error);  // the graph case needs a GPU
  std::set<std::string> ops;
  for (const auto& c : cli::bench_cases("ops", cpu, s)) ops.insert(c.keys.at("kind").get<std::string>() + " " +
                                                                   c.keys.at("op").get<std::string>());
  for (const char* op : {"overhead add", "overhead mul", "overhead relu", "overhead matmul", "overhead sum",
                         "overhead linear", "overhead backward", "throughput matmul", "throughput add",
                         "throughput mul", "throughput relu", "throughput exp", "throughput softmax"})
    EXPECT_TRUE(ops.count(op)) << op;
  // mlp and cnn (channels-last) in float32 and bf16, and the cnn contiguous in float32
  EXPECT_EQ(cli::bench_cases("fashion", cpu, s).size(), 5u);
  EXPECT_EQ(cli::bench_cases("fashion", Device("cuda"), s).size(), 7u);  // and fp16 on a GPU
  EXPECT_THROW(cli::bench_cases("speed", cpu, s), ValueError);
}

/// Runs `kiln bench <args> --json --quick --device cpu` and returns its rows, failing the test on a bad exit.
class KilnBenchRun : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = kiln_binary();
    if (!std::filesystem::exists(bin_)) GTEST_SKIP() << "the kiln binary is not at '" << bin_ << "'";
    root_ = (std::filesystem::temp_directory_path() / ("kiln_cli_bench_" + std::to_string(getpid()))).string();
    std::filesystem::create_directories(root_);
  }
  void TearDown() override {
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }
  std::vector<nlohmann::json> rows(const std::string& args) {
    CliResult r = run_cli(bin_, "bench --device cpu --json --quick --threads 1 " + args, root_ + "/bench");
    EXPECT_TRUE(r.exited && r.code == 0) << r.describe();
    std::vector<nlohmann::json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(j.is_object()) << "not a JSON row: " << line;
      if (j.is_object()) out.push_back(j);
    }
    return out;
  }
  static void expect_fields(const nlohmann::json& row, const std::vector<const char*>& fields) {
    for (const char* f : fields) EXPECT_TRUE(row.contains(f)) << f << " missing from " << row.dump();
  }
  static bool debian_torch() {
    return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0;
  }
  std::string bin_, root_;
};

TEST_F(KilnBenchRun, SeedRowsHaveTheIssuesFieldsAndTheFloor) {
  auto out = rows("--suite seed");
  ASSERT_EQ(out.size(), 1u);
  expect_fields(out[0], {"impl", "device", "layers", "width", "epochs", "seconds", "steps_per_s", "final_loss",
                         "floor_steps_per_s", "fraction_of_floor"});
  EXPECT_EQ(out[0]["impl"], "kiln");
  EXPECT_EQ(out[0]["device"], "cpu");
  EXPECT_GT(out[0]["steps_per_s"].get<double>(), 0);
  EXPECT_GT(out[0]["fraction_of_floor"].get<double>(), 0);
}

TEST_F(KilnBenchRun, OpsRowsGiveOverheadAndFractionsOfPeak) {
  auto out = rows("--suite ops");
  ASSERT_EQ(out.size(), 13u);
  for (const auto& row : out) {
    if (row.at("kind") == "overhead") {
      expect_fields(row, {"op", "us_per_call", "calls"});
      EXPECT_GT(row["us_per_call"].get<double>(), 0);
    } else {
      expect_fields(row, {"op", "size", "unit", "rate", "peak", "fraction_of_peak"});
      EXPECT_GT(row["fraction_of_peak"].get<double>(), 0);
    }
  }
}

TEST_F(KilnBenchRun, OnlyRunsTheMatchingCases) {
  auto out = rows("--suite ops --only op=add");
  ASSERT_EQ(out.size(), 2u);  // its overhead and its throughput
  EXPECT_EQ(out[0]["op"], "add");
  EXPECT_EQ(out[1]["op"], "add");
  CliResult bad = run_cli(bin_, "bench --suite seed --device cpu --quick --only layers", root_ + "/bad");
  EXPECT_TRUE(bad.exited && bad.code == 1) << bad.describe();
  EXPECT_NE(bad.err.find("KEY=VALUE"), std::string::npos) << bad.err;
}

TEST_F(KilnBenchRun, FashionTrainsWhatKilnTrainTrains) {
  write_tiny_mnist(root_ + "/data", 256, 16);
  auto out = rows("--suite fashion --dataset mnist --data '" + root_ + "/data'");
  ASSERT_EQ(out.size(), 5u);  // per model: float32 and bf16 (fp16 only on a GPU); the cnn also contiguous
  const char* models[] = {"mlp", "mlp", "cnn", "cnn", "cnn"};
  const char* precisions[] = {"float32", "bf16", "float32", "bf16", "float32"};
  const char* formats[] = {nullptr, nullptr, "channels_last", "channels_last", "contiguous"};
  for (size_t i = 0; i < out.size(); ++i) {
    expect_fields(out[i], {"impl", "device", "precision", "images", "epochs", "seconds_per_epoch", "samples_per_s",
                           "final_loss"});
    EXPECT_EQ(out[i]["images"], 256);
    EXPECT_EQ(out[i]["model"], models[i]);
    EXPECT_EQ(out[i]["precision"], precisions[i]);
    if (formats[i]) EXPECT_EQ(out[i]["memory_format"], formats[i]);
    else EXPECT_FALSE(out[i].contains("memory_format"));
  }
}

TEST_F(KilnBenchRun, ComparePyTorchInterleavesTorchRowsAndRatios) {
  if (!debian_torch()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch";
  write_tiny_mnist(root_ + "/data", 256, 16);
  auto out = rows("--suite fashion --compare-pytorch --python /usr/bin/python3 --dataset mnist --data '" + root_ +
                  "/data'");
  ASSERT_EQ(out.size(), 15u);  // per case: kiln, torch, ratio
  for (size_t i = 0; i < out.size(); i += 3) {
    EXPECT_EQ(out[i]["impl"], "kiln");
    EXPECT_EQ(out[i + 1]["impl"], "torch");
    EXPECT_EQ(out[i + 1]["model"], out[i]["model"]);
    EXPECT_EQ(out[i + 1]["precision"], out[i]["precision"]);
    EXPECT_EQ(out[i + 1].value("memory_format", ""), out[i].value("memory_format", ""));
    expect_fields(out[i + 1], {"device", "torch", "images", "epochs", "seconds_per_epoch", "final_loss"});
    EXPECT_EQ(out[i + 2]["impl"], "ratio");
    EXPECT_GT(out[i + 2]["kiln_speed_over_torch"].get<double>(), 0);
  }
  auto seed = rows("--suite seed --compare-pytorch --python /usr/bin/python3");
  ASSERT_EQ(seed.size(), 3u);
  expect_fields(seed[1], {"impl", "device", "layers", "width", "epochs", "seconds", "steps_per_s", "final_loss"});
  EXPECT_EQ(seed[1]["layers"], seed[0]["layers"]);
}

TEST_F(KilnBenchRun, ComparePyTorchNamesAPythonWithoutTorch) {
  CliResult r = run_cli(bin_, "bench --suite seed --device cpu --quick --compare-pytorch --python /bin/false",
                        root_ + "/notorch");
  EXPECT_TRUE(r.exited && r.code == 1) << r.describe();
  EXPECT_NE(r.err.find("cannot import torch"), std::string::npos) << r.err;
}
}  // namespace
}  // namespace kiln::test
