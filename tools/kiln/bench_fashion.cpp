// `kiln bench --suite fashion`: seconds per training epoch of exactly what `kiln train` trains (its model
// builders, loader settings, augmentation, optimizer and loss), per model and precision.
#include "bench_suites.h"
#include "fashion_task.h"
#include "kiln/data/dataloader.h"
#include "kiln/kiln.h"
#include "kiln/train/amp_step.h"
#include "kiln/train/model.h"

namespace kiln::cli {
namespace {

/// The precisions a fashion row is measured in, as `kiln train --amp` names them: float32, and mixed precision
/// through train::AmpStep (fit() runs whatever train::TrainStep it is given, so nothing else changes). fp16 needs
/// a GPU, so the CPU measures float32 and bf16.
std::vector<std::string> fashion_precisions(const Device& device) {
  if (device.is_cuda()) return {"float32", "bf16", "fp16"};
  return {"float32", "bf16"};
}

std::shared_ptr<train::TrainStep> step_for_precision(const std::string& precision) {
  if (precision == "bf16") return std::make_shared<train::AmpStep>(kBFloat16);
  if (precision == "fp16") return std::make_shared<train::AmpStep>(kFloat16);
  KILN_CHECK(precision == "float32", "fashion: no precision '", precision, "'; use float32, bf16 or fp16");
  return std::make_shared<train::PlainStep>();
}

/// `kiln train`'s defaults for the loader: batch 64, shuffled, seed 0, no worker threads on the CPU and two on a
/// GPU with pinned batches copied there; the CNN's images cropped (padding 2) and flipped.
data::DataLoader make_loader(const Split& split, const std::string& model, const Device& device) {
  auto set = std::make_shared<data::TensorDataset>(split.images, split.labels);
  auto opts = data::DataLoaderOptions(64).shuffle(true).seed(0).num_workers(device.is_cuda() ? 2 : 0);
  if (model == "cnn") opts.transform(data::Compose({data::RandomCrop(28, 2), data::RandomHorizontalFlip()}));
  if (device.is_cuda()) opts.pin_memory(true).device(device);
  return data::DataLoader(set, opts);
}

/// Images of the split used for timing: all of them, or a few in --quick runs.
Split prepare_split(const BenchSettings& s, const std::string& model, int64_t limit) {
  Split split = load_split(make_task(s.dataset, s.data_dir), true);
  if (limit > 0 && limit < split.images.size(0)) {
    split.images = split.images.narrow(0, 0, limit).clone();
    split.labels = split.labels.narrow(0, 0, limit).clone();
  }
  Shape batch = model_input_shape(model);
  batch.insert(batch.begin(), split.images.size(0));
  split.images = split.images.reshape(batch);
  return split;
}
}  // namespace

/// The MLP in each precision; the CNN channels-last (as `kiln train` runs it) in each precision, and contiguous
/// (NCHW) in float32 for the comparison.
std::vector<nlohmann::json> fashion_case_keys(const Device& device) {
  std::vector<nlohmann::json> keys;
  for (const std::string& precision : fashion_precisions(device))
    keys.push_back({{"model", "mlp"}, {"precision", precision}});
  for (const std::string& precision : fashion_precisions(device))
    keys.push_back({{"model", "cnn"}, {"precision", precision}, {"memory_format", "channels_last"}});
  keys.push_back({{"model", "cnn"}, {"precision", "float32"}, {"memory_format", "contiguous"}});
  return keys;
}

nlohmann::json run_fashion_case(const nlohmann::json& keys, const Device& device, const BenchSettings& s) {
  const std::string model_name = keys.at("model"), precision = keys.at("precision");
  const std::string format = keys.value("memory_format", "contiguous");
  KILN_CHECK(format == "contiguous" || (format == "channels_last" && model_name != "mlp"), "fashion: no memory format '",
             format, "' for ", model_name, "; use contiguous, or channels_last for the cnn");
  // Timed epochs: two of the MLP (about a second each), one of the CNN (about a minute on two cores).
  const int epochs = model_name == "cnn" || s.quick ? 1 : 2;
  const Split split = prepare_split(s, model_name, s.quick ? 256 : 0);
  manual_seed(0);
  nn::Sequential net = build_model(model_name, parse_hidden("256,128"), 10);
  net->to(device);
  if (format == "channels_last") net->to(MemoryFormat::ChannelsLast);
  train::Model model(net);
  model.compile("adam", "cross_entropy", {"accuracy"}, 1e-3);
  model.set_train_step(step_for_precision(precision));
  {
    // Warm-up on a slice, untimed: first-touch pages, the allocators' blocks, cuBLAS/cuDNN handles.
    Split warm = split;
    const int64_t n = std::min<int64_t>(s.quick ? 64 : 2048, split.images.size(0));
    warm.images = split.images.narrow(0, 0, n);
    warm.labels = split.labels.narrow(0, 0, n);
    data::DataLoader loader = make_loader(warm, model_name, device);
    model.fit(loader, 1);
  }
  data::DataLoader loader = make_loader(split, model_name, device);
  train::History h = model.fit(loader, epochs);
  double seconds = 0;
  for (const auto& e : h.epochs) seconds += e.seconds;
  seconds /= static_cast<double>(h.epochs.size());
  nlohmann::json row = {{"model", model_name},
          {"precision", precision},
          {"images", split.images.size(0)},
          {"epochs", epochs},
          {"seconds_per_epoch", seconds},
          {"samples_per_s", static_cast<double>(split.images.size(0)) / seconds},
          {"final_loss", h.epochs.back().loss}};
  if (model_name != "mlp") row["memory_format"] = format;
  return row;
}
}  // namespace kiln::cli
