// `kiln train`: train an MLP on Fashion-MNIST (or MNIST) on the best device, with progress, checkpoints,
// metrics.jsonl, a PNG of the curves, and --resume.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "fashion_task.h"
#include "gpus_flag.h"
#include "kiln/core/deterministic.h"
#include "kiln/data/dataloader.h"
#include "kiln/io/checkpoint.h"
#include "kiln/train/amp_step.h"
#include "kiln/train/batch_size.h"
#include "kiln/train/graph_step.h"
#include "kiln/train/mirrored_strategy.h"
#include "kiln/train/model.h"
#include "kiln/train/plot.h"
#include "train_distributed.h"

namespace kiln::cli {
namespace {

struct TrainArgs {
  std::string dataset = "fashion-mnist", data_dir, model = "mlp", hidden = "256,128", device = "auto";
  int epochs = 15;  // both models: the CNN reaches 0.92 test accuracy by epoch 15 on the CPU
  std::string batch_size = "64";  // a number, or "auto"
  double lr = 1e-3;
  std::string optimizer = "adam";
  std::string amp = "off";  // off, bf16 or fp16
  std::string memory_format = "auto";  // auto (channels_last for the conv models), channels_last or contiguous
  uint64_t seed = 0;
  int workers = -1;
  int gpus = -1;  // --gpus N: DataParallel over cuda:0..N-1 (-1: not given; one device, --device)
  int64_t limit = 0;
  std::string out = "runs/fashion-mlp";
  bool resume = false, json = false, deterministic = false;
  bool lr_given = false;  // --lr was on the command line (with --resume it replaces the checkpoint's)
  bool no_augment = false;
  bool summary = false;  // print nn::summary (layers, output shapes, parameters) before training
  bool cuda_graph = false;  // capture the training step once and replay it (train::GraphStep)
  double dist_timeout_s = 1800;  // a distributed run's collective timeout (PyTorch's default, 30 minutes)
};

/// Epochs of a default run. The CNN's test accuracy passes 0.92 at its 15th epoch (README, Speed), so both
/// models train 15; kept per model for the next one.
/// --batch-size: a positive number, or 0 for "auto".
int64_t parse_batch_size(const std::string& s) {
  if (s == "auto") return 0;
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  KILN_CHECK(used == s.size() && !s.empty() && n >= 1, "--batch-size must be a positive number or 'auto', got '", s, "'");
  return n;
}

/// Redraws curves.png after every epoch, with the epochs of a resumed run first.
class PlotCallback : public train::Callback {
 public:
  PlotCallback(std::string path, std::vector<train::EpochLogs> initial) : path_(std::move(path)), rows_(std::move(initial)) {}
  void on_epoch_end(train::Model&, const train::EpochLogs& logs) override {
    rows_.push_back(logs);
    std::vector<double> loss, val_loss, acc, val_acc;
    for (auto& e : rows_) {
      loss.push_back(e.loss);
      acc.push_back(e.accuracy);
      if (!std::isnan(e.val_loss)) val_loss.push_back(e.val_loss);
      if (!std::isnan(e.val_accuracy)) val_acc.push_back(e.val_accuracy);
    }
    train::write_training_plot(path_, loss, val_loss, acc, val_acc);
  }

 private:
  std::string path_;
  std::vector<train::EpochLogs> rows_;
};

void make_dirs(const std::string& path) {
  std::string acc;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!acc.empty() && mkdir(acc.c_str(), 0777) != 0 && errno != EEXIST)
        throw IOError("cannot create output directory '" + acc + "': " + std::strerror(errno));
    }
    if (i < path.size()) acc += path[i];
  }
}

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

void run_train(TrainArgs a) {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  KILN_CHECK(a.model == "mlp" || a.model == "cnn" || a.model == "resnet", "--model '", a.model,
             "' is not available; use mlp, cnn or resnet");
  KILN_CHECK(a.epochs >= 1, "--epochs must be at least 1, got ", a.epochs);
  int64_t batch_size = parse_batch_size(a.batch_size);
  KILN_CHECK(batch_size > 0 || !a.resume, "--batch-size auto cannot be combined with --resume: pass the batch size "
             "of the first run (the checkpoint's batch_size metadata)");
  KILN_CHECK(std::isfinite(a.lr) && a.lr > 0, "--lr must be a positive finite number, got ", a.lr);
  KILN_CHECK(!a.out.empty(), "--out must name a folder, got an empty string");
  KILN_CHECK(a.limit >= 0, "--limit must be 0 (all the training images) or a positive count, got ", a.limit);
  KILN_CHECK(a.workers >= -1, "--workers must be -1 (automatic), 0 or a positive count, got ", a.workers);
  KILN_CHECK(a.amp == "off" || a.amp == "bf16" || a.amp == "fp16", "--amp must be off, bf16 or fp16, got '",
             a.amp.substr(0, 40), "'");
  KILN_CHECK(a.memory_format == "auto" || a.memory_format == "channels_last" || a.memory_format == "contiguous",
             "--memory-format must be auto, channels_last or contiguous, got '", a.memory_format.substr(0, 40), "'");
  KILN_CHECK(a.memory_format != "channels_last" || a.model != "mlp", "--memory-format channels_last is for the conv "
             "models (--model cnn or resnet); the MLP has no images inside");
  KILN_CHECK(std::isfinite(a.dist_timeout_s) && a.dist_timeout_s > 0, "--dist-timeout must be a positive number of "
             "seconds, got ", a.dist_timeout_s);
  // --gpus is checked first: without it, --device auto would quietly pick the CPU on a machine with no GPU.
  const std::vector<Device> gpus = a.gpus >= 0 ? gpus_flag_devices(a.gpus, a.device, cuda::device_count())
                                               : std::vector<Device>{};
  auto [device, why] = gpus.empty() ? choose_device(device_for_rank(a.device))
                                    : std::pair<Device, std::string>(gpus[0], "--gpus " + std::to_string(a.gpus) +
                                                                                  ": DataParallel over cuda:0..cuda:" +
                                                                                  std::to_string(a.gpus - 1));
  KILN_CHECK_DTYPE(a.amp != "fp16" || device.is_cuda(), "--amp fp16 needs a CUDA device (this run is on ", device.str(),
                   "); on the CPU use --amp bf16");
  KILN_CHECK_DEVICE(!a.cuda_graph || device.is_cuda(), "--cuda-graph captures the training step's CUDA kernels and "
                    "needs a CUDA device (this run is on ", device.str(), ")");
  KILN_CHECK(!a.cuda_graph || a.amp != "fp16", "--cuda-graph cannot be combined with --amp fp16: the GradScaler "
             "reads its inf/NaN check on the host every step, which a graph cannot capture; use --amp bf16");
  KILN_CHECK(!a.cuda_graph || gpus.empty(), "--cuda-graph works on one GPU; it cannot be combined with --gpus");
  KILN_CHECK(!a.cuda_graph || (a.optimizer == "adam" || a.optimizer == "adamw" || a.optimizer == "sgd"),
             "--cuda-graph needs --optimizer adam, adamw or sgd (their step size is read from device memory at each "
             "replay), got ", a.optimizer);
  // Launched as one rank of several (kiln launch, torchrun, srun): join the job; rank 0 alone prints and saves.
  TrainJob job = join_job(device, std::chrono::milliseconds(static_cast<int64_t>(a.dist_timeout_s * 1000)));
  KILN_CHECK(!job.distributed() || !a.cuda_graph, "--cuda-graph cannot be combined with a distributed launch yet");
  KILN_CHECK(!job.distributed() || gpus.empty(), "--gpus (several GPUs in one process) cannot be combined with a "
             "distributed launch: give each rank one GPU instead (kiln launch -n N -- kiln train --device cuda)");
  std::ostream silent(nullptr);
  std::ostream& log = !job.is_main() ? silent : a.json ? std::cerr : std::cout;
  log << "device: " << why << "\n";
  if (job.distributed())
    log << "distributed: " << job.world << " ranks (" << job.group->backend() << "), --batch-size " << a.batch_size
        << " per rank\n";
  // Before anything runs on the device: an op without a deterministic path then throws instead of varying.
  set_deterministic(a.deterministic);

  // Settings are checked before the data is read, so a typo fails at once.
  std::vector<int64_t> hidden = parse_hidden(a.hidden);
  train::optimizer_by_name(a.optimizer, {zeros({1}).requires_grad_()}, a.lr);
  Task task = make_task(a.dataset, a.data_dir);
  Split train_split = load_split(task, true), test_split = load_split(task, false);
  if (a.limit > 0 && a.limit < train_split.images.size(0)) {
    // Copies, so the full set is freed instead of kept alive behind a view.
    train_split.images = train_split.images.narrow(0, 0, a.limit).clone();
    train_split.labels = train_split.labels.narrow(0, 0, a.limit).clone();
  }
  KILN_CHECK_T(IOError, train_split.images.size(0) > 0, "the training set in '", task.data_dir,
               "' has no images: nothing to train on");
  log << "data: " << task.dataset << " from " << task.data_dir << " (" << train_split.images.size(0) << " train, "
      << test_split.images.size(0) << " test)\n";

  manual_seed(a.seed);
  auto build = [&] { return build_model(a.model, hidden, static_cast<int64_t>(task.classes.size())); };
  nn::Sequential net = build();
  const Shape input = model_input_shape(a.model);
  for (Split* s : {&train_split, &test_split}) {
    Shape batch = input;
    batch.insert(batch.begin(), s->images.size(0));
    s->images = s->images.reshape(batch);
  }
  net->to(device);
  // Channels-last (NHWC) convolution weights: the conv, batch-norm and pooling layers then run their NHWC kernels,
  // as PyTorch's model.to(memory_format=torch.channels_last). Before the optimizer exists: its state follows the
  // parameters' layout.
  const bool channels_last = a.model != "mlp" && a.memory_format != "contiguous";
  if (channels_last) net->to(MemoryFormat::ChannelsLast);
  if (a.model != "mlp") log << "memory format: " << (channels_last ? "channels_last" : "contiguous") << "\n";
  if (a.summary) {
    Shape traced = input;
    traced.insert(traced.begin(), 1);
    log << nn::summary(net, traced);
  }
  // The checkpoint holds net's state (the primary replica's) under its own names, with or without --gpus.
  train::Model model = gpus.empty() ? train::Model(net) : train::MirroredStrategy(gpus).wrap(net);
  const std::string policy = a.amp == "bf16" ? "mixed_bfloat16" : a.amp == "fp16" ? "mixed_float16" : "float32";
  model.compile(a.optimizer, "cross_entropy", {"accuracy"}, a.lr, policy);
  std::shared_ptr<train::GraphStep> graph_step;
  if (a.cuda_graph) {  // the step compile() chose, captured
    graph_step = std::make_shared<train::GraphStep>(train::step_for_policy(policy));
    model.set_train_step(graph_step);
  }
  if (batch_size == 0) {
    train::BatchSizeOptions search;
    search.start = 16;
    search.max = train_split.images.size(0);
    train::BatchSizeResult found = train::find_max_batch_size(
        *net, [&net](const Tensor& x) { return net->forward(x); }, train::loss_by_name("cross_entropy"),
        *model.optimizer(), train::classification_batches(input, device), search);
    batch_size = common_batch_size(job, found.batch_size);
    log << "batch size auto: " << found.explanation << (job.distributed() ? " (the smallest over the ranks: " +
                                                          std::to_string(batch_size) + ")" : std::string()) << "\n";
  }
  model.metadata() = {{"model", a.model},       {"hidden", a.hidden},
                      {"dataset", task.dataset}, {"inputs", "784"},
                      {"classes", std::to_string(task.classes.size())},
                      {"optimizer", a.optimizer}, {"lr", std::to_string(a.lr)},
                      {"batch_size", std::to_string(batch_size)}, {"seed", std::to_string(a.seed)},
                      {"mean", std::to_string(task.mean)}, {"std", std::to_string(task.std)},
                      {"limit", std::to_string(a.limit)}, {"amp", a.amp}};
  // Images augmented as torchvision's RandomCrop(28, padding=2) + RandomHorizontalFlip, for the conv models.
  const bool augment = a.model != "mlp" && !a.no_augment;
  model.metadata()["augment"] = augment ? "crop2,flip" : "none";

  if (job.is_main()) make_dirs(a.out);
  std::string ckpt_path = a.out + "/checkpoint.safetensors", metrics_path = a.out + "/metrics.jsonl";
  int initial_epoch = 0;
  std::vector<train::EpochLogs> previous;
  if (a.resume) {
    KILN_CHECK_T(IOError, file_exists(ckpt_path), "--resume: no checkpoint at '", ckpt_path,
                 "' (train once with the same --out first)");
    Checkpoint ck = load_checkpoint(ckpt_path, device);
    for (const char* k : {"model", "hidden", "dataset", "optimizer", "batch_size", "seed", "limit", "amp"}) {
      auto it = ck.metadata.find(k);
      KILN_CHECK(it == ck.metadata.end() || it->second == model.metadata()[k], "--resume: the checkpoint was trained with ",
                 k, "=", it->second, " but this run has ", k, "=", model.metadata()[k],
                 "; use the same settings to resume");
    }
    restore(ck, model.module(), model.optimizer());
    model.train_step().load_state_dict(ck.step);  // --amp fp16: the loss scale goes on where it was
    // Every option takes effect or is refused: an explicit --lr replaces the checkpoint's learning rate, and
    // the metadata records the rate this run really uses.
    for (auto& group : model.optimizer()->param_groups()) {
      if (a.lr_given) group.options().set_lr(a.lr);
      model.metadata()["lr"] = std::to_string(group.options().get_lr());
    }
    if (a.lr_given) log << "learning rate set to " << a.lr << " (--lr) after resuming\n";
    auto epoch = ck.metadata.find("epoch");
    KILN_CHECK_T(IOError, epoch != ck.metadata.end(), "--resume: checkpoint '", ckpt_path,
                 "' has no 'epoch' in its metadata: it was not written by `kiln train`");
    const int64_t done = parse_metadata_int(epoch->second, "epoch", ckpt_path);
    KILN_CHECK_T(IOError, done >= 0 && done <= 1000000, "--resume: checkpoint '", ckpt_path, "' says epoch ", done);
    initial_epoch = static_cast<int>(done);
    previous = train::JSONLinesLogger::read(metrics_path);
    if (static_cast<int>(previous.size()) > initial_epoch) previous.resize(initial_epoch);
    // A kill between the checkpoint's save and the metrics log's write loses the last epoch's row: the
    // checkpoint carries it, so put it back.
    auto last = ck.metadata.find("epoch_logs");
    if (static_cast<int>(previous.size()) == initial_epoch - 1 && last != ck.metadata.end()) {
      train::EpochLogs row = train::epoch_logs_from_json(last->second);
      if (row.epoch == initial_epoch - 1) {
        previous.push_back(row);
        log << "restored epoch " << initial_epoch << "'s metrics row from the checkpoint (the last run was "
            << "interrupted before writing it)\n";
      }
    }
    log << "resuming from " << ckpt_path << " after epoch " << initial_epoch << "\n";
  }

  // After the restore: DDP broadcasts rank 0's weights, so every replica starts from the same ones.
  wrap_model(job, net.ptr());

  int workers = a.workers >= 0 ? a.workers : (device.is_cuda() ? 2 : 0);
  auto train_set = std::make_shared<data::TensorDataset>(train_split.images, train_split.labels);
  auto test_set = std::make_shared<data::TensorDataset>(test_split.images, test_split.labels);
  // Each rank's loader seed differs, so the ranks' augmentations differ; the shuffle is the sampler's, shared.
  auto train_opts = data::DataLoaderOptions(batch_size).shuffle(true).seed(a.seed + static_cast<uint64_t>(job.rank))
                        .num_workers(workers);
  shard(job, train_opts, train_split.images.size(0), true, a.seed);
  if (augment) train_opts.transform(data::Compose({data::RandomCrop(28, 2), data::RandomHorizontalFlip()}));
  auto test_opts = data::DataLoaderOptions(1000).num_workers(workers);
  shard(job, test_opts, test_split.images.size(0), false, a.seed);
  if (device.is_cuda()) {
    train_opts.pin_memory(true).device(device);
    test_opts.pin_memory(true).device(device);
  }
  data::DataLoader train_loader(train_set, train_opts), test_loader(test_set, test_opts);

  // The averager comes first, so the progress line, the metrics and the checkpoint see the job's values.
  std::vector<std::shared_ptr<train::Callback>> callbacks = {epoch_log_averager(job)};
  if (job.is_main()) {
    if (!a.json) callbacks.push_back(std::make_shared<train::ProgressLogger>(a.epochs, -1));  // JSON: stdout stays clean
    callbacks.push_back(std::make_shared<train::ModelCheckpoint>(ckpt_path));
    callbacks.push_back(std::make_shared<train::JSONLinesLogger>(metrics_path, previous));
    callbacks.push_back(std::make_shared<PlotCallback>(a.out + "/curves.png", previous));
  }
  train::History h = model.fit(train_loader, a.epochs, &test_loader, callbacks, initial_epoch);

  train::EvalResult test = average_eval(job, model.evaluate(test_loader));
  leave_job(job);
  if (!job.is_main()) return;
  double seconds = std::chrono::duration<double>(clock::now() - t0).count();
  double train_seconds = 0, samples = 0;
  for (auto& e : h.epochs) {
    train_seconds += e.seconds;
    samples += e.samples_per_second * e.seconds;
  }
  double per_epoch = h.epochs.empty() ? 0 : train_seconds / static_cast<double>(h.epochs.size());
  if (a.json) {
    nlohmann::json j = {{"test_accuracy", test.accuracy},
                        {"test_loss", test.loss},
                        {"epochs", a.epochs},
                        {"epochs_run", h.epochs.size()},
                        {"seconds", seconds},
                        {"seconds_per_epoch", per_epoch},
                        {"samples_per_second", train_seconds > 0 ? samples / train_seconds : 0.0},
                        {"device", device.str()},
                        {"world_size", job.world},
                        {"batch_size", batch_size},
                        {"deterministic", a.deterministic},
                        {"amp", a.amp},
                        {"memory_format", channels_last ? "channels_last" : "contiguous"},
                        {"cuda_graph", a.cuda_graph},
                        {"graph_replays", graph_step ? graph_step->replayed_steps() : 0},
                        {"graph_nodes", graph_step ? graph_step->graph_nodes() : 0},
                        {"out", a.out}};
    std::cout << j.dump() << std::endl;
  } else {
    std::printf("test accuracy %.4f (loss %.4f) after %d epochs on %s%s; %.2fs per epoch, %.1fs in all, %.0f samples/s\n",
                test.accuracy, test.loss, a.epochs, device.str().c_str(),
                job.distributed() ? (" x " + std::to_string(job.world) + " ranks").c_str() : "", per_epoch, seconds,
                train_seconds > 0 ? samples / train_seconds : 0.0);
    if (graph_step)
      std::printf("CUDA graph: %lld steps replayed (one launch of %lld operations each), %lld run eagerly\n",
                  static_cast<long long>(graph_step->replayed_steps()), static_cast<long long>(graph_step->graph_nodes()),
                  static_cast<long long>(graph_step->eager_steps()));
    std::printf("wrote %s, %s and %s/curves.png\n", ckpt_path.c_str(), metrics_path.c_str(), a.out.c_str());
  }
}
}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a classifier on Fashion-MNIST (or MNIST) on the best device present; under `kiln launch -n N`, "
                                 "data-parallel over N ranks (DDP; rank 0 prints and saves)");
  cmd->add_option("--dataset", args->dataset, "fashion-mnist or mnist")->capture_default_str();
  cmd->add_option("--data", args->data_dir, "Folder with the IDX files (default: Debian's dataset-fashion-mnist)");
  cmd->add_option("--model", args->model, "Model: mlp, cnn (two conv blocks with BatchNorm) or resnet (a small ResNet, 0.31M parameters)")->capture_default_str();
  cmd->add_option("--hidden", args->hidden, "Hidden layer widths of the MLP")->capture_default_str();
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--gpus", args->gpus,
                  "Train on N GPUs in this process (DataParallel over cuda:0..N-1; CUDA_VISIBLE_DEVICES picks them)")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--epochs", args->epochs, "Number of epochs (default: 15)");
  cmd->add_flag("--no-augment", args->no_augment, "cnn, resnet: no random crop (padding 2) and horizontal flip of training images");
  cmd->add_flag("--cuda-graph", args->cuda_graph,
                "CUDA: capture the training step once as a CUDA graph and replay it for every batch (one launch per "
                "step; Adam, AdamW or SGD; not with --amp fp16)");
  cmd->add_flag("--summary", args->summary, "Print the model's layers, output shapes and parameter counts first");
  cmd->add_option("--batch-size", args->batch_size,
                  "Samples per batch, or 'auto': the largest whose training step fits in memory (GPU memory, or on "
                  "the CPU the available RAM). Distributed (kiln launch): per rank, as PyTorch's DDP, so the global "
                  "batch is N times this")
      ->capture_default_str();
  CLI::Option* lr = cmd->add_option("--lr", args->lr, "Learning rate (with --resume: replaces the checkpoint's)");
  lr->capture_default_str();
  cmd->add_option("--optimizer", args->optimizer, "sgd, adam or adamw (also rmsprop, adagrad)")->capture_default_str();
  cmd->add_option("--amp", args->amp,
                  "Mixed precision: off, bf16 (CPU or CUDA; no loss scaling needed) or fp16 (CUDA, with a GradScaler)")
      ->capture_default_str();
  cmd->add_option("--memory-format", args->memory_format,
                  "cnn, resnet: channels_last (NHWC: faster convolutions on oneDNN and cuDNN), contiguous (NCHW), or "
                  "auto (channels_last)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed for initialisation and shuffling")->check(no_minus_sign())->capture_default_str();
  cmd->add_option("--workers", args->workers, "Background batch-loading threads (-1: 0 on CPU, 2 on GPU)")
      ->capture_default_str();
  cmd->add_option("--limit", args->limit, "Train on the first N training images only (quick runs; 0 = all)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Output folder: checkpoint, metrics.jsonl, curves.png")->capture_default_str();
  cmd->add_flag("--resume", args->resume, "Continue from the checkpoint in --out");
  cmd->add_flag("--json", args->json, "Print a JSON object with the results as the last line");
  cmd->add_option("--dist-timeout", args->dist_timeout_s,
                  "Distributed runs: seconds a collective may wait for the other ranks before failing")
      ->capture_default_str();
  cmd->add_flag("--deterministic", args->deterministic,
                "Bit-identical runs on the same device (kiln::set_deterministic: ordered GPU sums instead of atomics)");
  cmd->callback([args, lr] {
    args->lr_given = lr->count() > 0;
    run_train(*args);
  });
}
}  // namespace kiln::cli
