// Writes the fuzzers' seed corpora: checkpoints saved by kiln itself and argument lists `kiln` accepts.
// Usage: fuzz_make_seeds SAFETENSORS_DIR CLI_ARGS_DIR
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "fashion_task.h"
#include "kiln/io/checkpoint.h"
#include "kiln/io/serialize.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/adam.h"
#include "kiln/kiln.h"
#include "kiln/train/history.h"

using namespace kiln;

namespace {
// One training step, so the optimizer has state to save.
void step_once(nn::Sequential& net, optim::Optimizer& opt, int64_t inputs) {
  opt.zero_grad();
  net->forward(randn({3, inputs})).sum().backward();
  opt.step();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_make_seeds SAFETENSORS_DIR CLI_ARGS_DIR\n";
    return 2;
  }
  const std::string st = argv[1], args = argv[2];
  manual_seed(0);
  // As `kiln train` writes it (an MLP with one hidden unit layer of 2), and a smaller one with an int and a bool.
  nn::Sequential mlp = cli::build_mlp(28 * 28, {2}, 10);
  optim::Adam adam(mlp->parameters());
  step_once(mlp, adam, 28 * 28);
  save_checkpoint(st + "/train.safetensors", *mlp, &adam,
                  {{"model", "mlp"}, {"hidden", "2"}, {"classes", "10"}, {"dataset", "fashion-mnist"},
                   {"epoch", "1"}, {"epoch_logs", train::epoch_logs_to_json(train::EpochLogs{})}});
  nn::Sequential small = cli::build_mlp(2, {}, 2);
  save_checkpoint(st + "/small.safetensors", *small, nullptr, {{"epoch", "3"}});
  save(arange(6).reshape({2, 3}), st + "/tensor.safetensors");
  save(StateDict{{"model.flag", ones({2}, kBool)}, {"model.half", ones({1}, kFloat16)}}, st + "/dtypes.safetensors");

  // Argument lists, one NUL-separated argv (without the program name) per file.
  const std::vector<std::vector<std::string>> lists = {
      {"info"},
      {"info", "--json"},
      {"--version"},
      {"train", "--device", "cpu", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--hidden", "16,8"},
      {"train", "--lr", "0.01", "--optimizer", "sgd", "--seed", "7", "--workers", "0", "--out", "runs/x", "--resume"},
      {"train", "--batch-size=auto", "--dataset", "mnist", "--data", "/tmp/d", "--json", "--deterministic"},
      {"eval", "--checkpoint", "c.safetensors", "--split", "train", "--device", "cuda:1"},
      {"predict", "--checkpoint=c.safetensors", "--json"},
      {"doctor", "--json"},
      {"smi"},
      {"compare", "--help"},
  };
  for (size_t i = 0; i < lists.size(); ++i) {
    std::ofstream f(args + "/args" + std::to_string(i), std::ios::binary);
    for (size_t j = 0; j < lists[i].size(); ++j) f << (j ? std::string(1, '\0') : "") << lists[i][j];
  }
  return 0;
}
