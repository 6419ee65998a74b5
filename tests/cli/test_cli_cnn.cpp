// End-to-end `kiln train --model cnn` on a tiny generated dataset: the model name and augmentation in the
// checkpoint's metadata, and `kiln eval` rebuilding the CNN from it with the same accuracy.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/cli_run.h"
#include "cli/tiny_mnist.h"
#include "kiln/io/checkpoint.h"

namespace kiln::test {
namespace {

TEST(KilnCliCnn, TrainsAndEvaluatesTheCnn) {
  const std::string bin = kiln_binary();
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << "the kiln binary is not at '" << bin << "'";
  const std::string root = (std::filesystem::temp_directory_path() / ("kiln_cli_cnn_" + std::to_string(getpid()))).string();
  const std::string data = root + "/data", out = root + "/run";
  write_tiny_mnist(data, 64, 32);
  CliResult r = run_cli(bin, "train --model cnn --device cpu --dataset mnist --data '" + data +
                                 "' --epochs 1 --batch-size 16 --json --out '" + out + "'", root + "/train");
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  nlohmann::json j = r.last_json();
  ASSERT_TRUE(j.is_object()) << r.describe();
  EXPECT_EQ(j["epochs"], 1);
  Checkpoint ck = load_checkpoint(out + "/checkpoint.safetensors");
  EXPECT_EQ(ck.metadata.at("model"), "cnn");
  EXPECT_EQ(ck.metadata.at("augment"), "crop2,flip");
  EXPECT_TRUE(ck.model.count("1.running_mean")) << "BatchNorm's running statistics are saved";
  CliResult e = run_cli(bin, "eval --device cpu --json --data '" + data + "' --checkpoint '" + out +
                                 "/checkpoint.safetensors'", root + "/eval");
  ASSERT_TRUE(e.exited && e.code == 0) << e.describe();
  EXPECT_EQ(e.last_json()["samples"], 32);
  EXPECT_EQ(e.last_json()["accuracy"].get<double>(), j["test_accuracy"].get<double>());
  // Without augmentation, as recorded.
  CliResult plain = run_cli(bin, "train --model cnn --no-augment --device cpu --dataset mnist --data '" + data +
                                     "' --epochs 1 --json --out '" + root + "/plain'", root + "/plain");
  ASSERT_TRUE(plain.exited && plain.code == 0) << plain.describe();
  EXPECT_EQ(load_checkpoint(root + "/plain/checkpoint.safetensors").metadata.at("augment"), "none");
  std::filesystem::remove_all(root);
}
}  // namespace
}  // namespace kiln::test
