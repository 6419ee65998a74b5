// Bounded random-mutation tests of the CLI's two readers of untrusted input, argv and checkpoint files (the CI
// stand-in for the libFuzzer harnesses in tests/fuzz, which need clang): every input is either accepted or
// refused with a kiln::Error or CLI11's ParseError, never a crash or a std:: exception's internal text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "commands.h"
#include "fashion_task.h"
#include "kiln/core/error.h"
#include "kiln/io/checkpoint.h"
#include "kiln/io/serialize.h"
#include "kiln/optim/adam.h"
#include "kiln/train/history.h"
#include "mutate.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliMutation : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln_mutation_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// What `kiln eval` and `kiln train --resume` do with a checkpoint file, in-process.
void read_like_the_cli(const std::string& path) {
  Checkpoint ck = load_checkpoint(path);
  auto epoch = ck.metadata.find("epoch");
  if (epoch != ck.metadata.end()) cli::parse_metadata_int(epoch->second, "epoch", path);
  auto row = ck.metadata.find("epoch_logs");
  if (row != ck.metadata.end()) train::epoch_logs_from_json(row->second);
  nn::Sequential net = cli::model_from_checkpoint(ck, path, Device("cpu"));
  optim::Adam adam(net->parameters());
  restore(ck, *net, &adam);
}

// The header is where the parsing is: 3 of 4 edits land there.
size_t header_end(const std::string& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0 && file.size() >= 8; --i) n = (n << 8) | static_cast<uint8_t>(file[i]);
  return static_cast<size_t>(std::min<uint64_t>(8 + n, file.size()));
}

TEST_F(CliMutation, MutatedCheckpointsAreReadOrRefusedCleanly) {
  manual_seed(0);
  nn::Sequential net = cli::build_mlp(28 * 28, {3}, 10);
  optim::Adam adam(net->parameters());
  net->forward(ones({2, 28 * 28})).sum().backward();
  adam.step();
  const std::string seed_path = path("seed.safetensors");
  train::EpochLogs logs;
  logs.loss = 0.5;
  save_checkpoint(seed_path, *net, &adam,
                  {{"model", "mlp"}, {"hidden", "3"}, {"classes", "10"}, {"epoch", "1"},
                   {"epoch_logs", train::epoch_logs_to_json(logs)}});
  ASSERT_NO_THROW(read_like_the_cli(seed_path));
  const std::string seed = slurp(seed_path);

  std::mt19937_64 rng(20261201);
  const std::string input = path("mutated.safetensors");
  int accepted = 0, refused = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string bytes = test::mutate_bytes(seed, rng, header_end(seed));
    std::ofstream(input, std::ios::binary | std::ios::trunc) << bytes;
    try {
      read_like_the_cli(input);
      ++accepted;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "input " << i << " escaped as " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0) << "every mutation was refused: the seed is not exercising the readers";
}

TEST_F(CliMutation, MutatedArgumentListsAreParsedOrRefusedCleanly) {
  const std::vector<std::string> words = {
      "train", "eval", "predict", "info", "doctor", "smi", "compare", "--epochs", "--batch-size", "--lr", "--limit",
      "--workers", "--seed", "--hidden", "--device", "--out", "--resume", "--json", "--dataset", "--data", "--gpus",
      "--checkpoint", "--split", "--optimizer", "--deterministic", "--help", "--version", "-h", "--", "-", "=", "",
      "0", "-1", "1e308", "inf", "nan", "99999999999999999999", "-9223372036854775809", "0x10", "auto", "cuda:0",
      "cpu", "256,128", "--epochs=3", "--lr=", "--seed=-1", "\xff\xfe", std::string(300, 'a')};
  std::mt19937_64 rng(7);
  int parsed = 0, refused = 0;
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::string> args{"kiln"};
    const int n = static_cast<int>(rng() % 7);
    for (int k = 0; k < n; ++k) {
      std::string w = words[rng() % words.size()];
      if (rng() % 4 == 0) w = test::mutate_bytes(w, rng);
      args.push_back(w);
    }
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::unique_ptr<CLI::App> app = cli::make_app();
    try {
      cli::parse_only(*app, static_cast<int>(argv.size()), argv.data());
      ++parsed;
    } catch (const CLI::ParseError&) {
      ++refused;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "argv #" << i << " escaped as " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(refused, 0);
}

// A checkpoint whose metadata claims layers far larger than its tensors is refused before the model is made
// (it used to allocate what 'hidden' said: 784 x 2^20 floats per layer).
TEST_F(CliMutation, CheckpointMetadataCannotMakeTheCliAllocateMoreThanTheFileHolds) {
  nn::Sequential net = cli::build_mlp(28 * 28, {4}, 10);
  const std::string p = path("huge_hidden.safetensors");
  save_checkpoint(p, *net, nullptr, {{"model", "mlp"}, {"hidden", "1048576,1048576"}, {"classes", "10"}});
  Checkpoint ck = load_checkpoint(p);
  const std::string msg = test::message_of([&] { cli::model_from_checkpoint(ck, p, Device("cpu")); });
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("0.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 784]"), std::string::npos) << msg;

  save_checkpoint(p, *net, nullptr, {{"model", "mlp"}, {"hidden", "4,x"}, {"classes", "10"}});
  ck = load_checkpoint(p);
  const std::string bad = test::message_of([&] { cli::model_from_checkpoint(ck, p, Device("cpu")); });
  EXPECT_NE(bad.find("metadata 'hidden'"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("--hidden"), std::string::npos) << "the checkpoint's text, not an option: " << bad;
}
}  // namespace
