// `kiln eval` (alias `kiln predict`): load a checkpoint written by `kiln train` and report accuracy and the
// confusion matrix on a dataset split.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "fashion_task.h"
#include "kiln/io/checkpoint.h"
#include "kiln/train/model.h"

namespace kiln::cli {
namespace {
struct EvalArgs {
  std::string checkpoint, data_dir, dataset, split = "test", device = "auto";
  bool json = false;
};

void run_eval(const EvalArgs& a) {
  KILN_CHECK(a.split == "test" || a.split == "train", "--split must be test or train, got '", a.split, "'");
  auto [device, why] = choose_device(a.device);
  Checkpoint ck = load_checkpoint(a.checkpoint, device);
  nn::Sequential net = model_from_checkpoint(ck, a.checkpoint, device);
  Task task = make_task(a.dataset.empty() ? checkpoint_meta(ck, "dataset", a.checkpoint) : a.dataset, a.data_dir);
  train::Model model(net);
  model.compile("sgd", "cross_entropy", {"accuracy"});
  Split split = load_split(task, a.split == "train");
  Shape input = model_input_shape(checkpoint_meta(ck, "model", a.checkpoint));
  input.insert(input.begin(), split.images.size(0));
  split.images = split.images.reshape(input);
  train::EvalResult r = model.evaluate(split.images, split.labels, 1000);
  if (a.json) {
    nlohmann::json j = {{"accuracy", r.accuracy}, {"loss", r.loss},          {"samples", r.samples},
                        {"confusion", r.confusion}, {"classes", task.classes}, {"device", device.str()},
                        {"checkpoint", a.checkpoint}};
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "device: " << why << "\n";
  std::printf("%s split of %s (%lld samples): accuracy %.4f, loss %.4f\n\n", a.split.c_str(), task.dataset.c_str(),
              static_cast<long long>(r.samples), r.accuracy, r.loss);
  std::cout << "confusion matrix (rows: true class, columns: predicted class)\n" << r.confusion_table(task.classes);
}
}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a `kiln train` checkpoint: accuracy and confusion matrix");
  cmd->alias("predict");
  cmd->add_option("--checkpoint", args->checkpoint, "checkpoint.safetensors written by kiln train")->required();
  cmd->add_option("--data", args->data_dir, "Folder with the IDX files (default: as recorded / Debian's package)");
  cmd->add_option("--dataset", args->dataset, "fashion-mnist or mnist (default: as recorded in the checkpoint)");
  cmd->add_option("--split", args->split, "test or train")->capture_default_str();
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] { run_eval(*args); });
}
}  // namespace kiln::cli
