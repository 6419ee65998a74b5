// End-to-end `kiln train --model resnet` on a tiny generated dataset: the checkpoint's metadata and weights
// (the blocks' BatchNorm statistics and projection shortcuts), `kiln eval` rebuilding the ResNet with the same
// accuracy, a damaged checkpoint refused, and --summary printing output shapes.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"
#include "kiln/io/checkpoint.h"
#include "kiln/nn/nn.h"

namespace kiln::test {
namespace {

TEST(KilnCliResnet, TrainsAndEvaluatesTheResnet) {
  const std::string bin = kiln_binary();
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "the kiln binary is not at '" << bin << "'";
  const std::string root =
      (std::filesystem::temp_directory_path() / ("kiln_cli_resnet_" + std::to_string(getpid()))).string();
  const std::string data = root + "/data", out = root + "/run";
  write_tiny_mnist(data, 48, 32);
  CliResult r = run_cli(bin, "train --model resnet --device cpu --dataset mnist --data '" + data +
                                 "' --epochs 1 --batch-size 16 --json --summary --out '" + out + "'", root + "/train");
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  nlohmann::json j = r.last_json();
  ASSERT_TRUE(j.is_object()) << r.describe();
  // --summary goes to stderr with --json: per-layer output shapes of the traced [1, 1, 28, 28] input.
  EXPECT_NE(r.err.find("Output Shape"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("[1, 64, 14, 14]"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("[1, 128, 7, 7]"), std::string::npos) << r.describe();
  Checkpoint ck = load_checkpoint(out + "/checkpoint.safetensors");
  EXPECT_EQ(ck.metadata.at("model"), "resnet");
  EXPECT_EQ(ck.metadata.at("augment"), "crop2,flip");
  EXPECT_TRUE(ck.model.count("4.downsample.0.weight")) << "the projection shortcut is saved";
  EXPECT_TRUE(ck.model.count("5.bn2.running_var")) << "the blocks' BatchNorm statistics are saved";
  EXPECT_FALSE(ck.model.count("3.downsample.0.weight")) << "the first block keeps its identity shortcut";
  CliResult e = run_cli(bin, "eval --device cpu --json --data '" + data + "' --checkpoint '" + out +
                                 "/checkpoint.safetensors'", root + "/eval");
  ASSERT_TRUE(e.exited && e.code == 0) << e.describe();
  EXPECT_EQ(e.last_json()["samples"], 32);
  EXPECT_EQ(e.last_json()["accuracy"].get<double>(), j["test_accuracy"].get<double>());
  // Weights that are not a ResNet's under resnet metadata: refused with a message naming the file.
  nn::Sequential other(nn::Linear(784, 10));
  save_checkpoint(root + "/wrong.safetensors", *other, nullptr,
                  {{"model", "resnet"}, {"classes", "10"}, {"dataset", "mnist"}});
  CliResult bad = run_cli(bin, "eval --device cpu --data '" + data + "' --checkpoint '" + root + "/wrong.safetensors'",
                          root + "/bad");
  EXPECT_TRUE(bad.exited && bad.code != 0) << bad.describe();
  EXPECT_NE(bad.err.find("wrong.safetensors"), std::string::npos) << bad.describe();
  std::filesystem::remove_all(root);
}
}  // namespace
}  // namespace kiln::test
