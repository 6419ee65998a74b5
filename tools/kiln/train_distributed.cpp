// The distributed side of `kiln train`: joining the job a launcher started, DDP, sharded loaders, averaged logs.
#include "train_distributed.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "kiln/cuda/cuda.h"
#include "kiln/data/distributed_sampler.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::cli {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return 0;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  KILN_CHECK(*end == '\0' && n >= 1 && n <= 1 << 20, "kiln train: ", name, "='", v, "' is not a world size");
  return static_cast<int>(n);
}

// Runs one float64 all_reduce over `values` in place.
template <typename T>
void reduce_in_place(const TrainJob& job, std::vector<T>& values, dist::ReduceOp op) {
  Tensor t = tensor(values, {static_cast<int64_t>(values.size())}).to(job.device);
  job.group->all_reduce(t, op)->synchronize();
  values = t.cpu().to_vector<T>();
}

class EpochLogAverager : public train::Callback {
 public:
  explicit EpochLogAverager(const TrainJob& job) : job_(job) {}
  void amend_epoch_logs(train::Model&, train::EpochLogs& logs) override {
    if (!job_.distributed()) return;
    // Every rank ran the same number of samples (the sampler pads), so plain means are the job's means.
    std::vector<double> mean = {logs.loss, logs.accuracy, logs.val_loss, logs.val_accuracy};
    reduce_in_place(job_, mean, dist::ReduceOp::Avg);
    std::vector<double> samples = {logs.samples_per_second * logs.seconds}, slowest = {logs.seconds};
    reduce_in_place(job_, samples, dist::ReduceOp::Sum);
    reduce_in_place(job_, slowest, dist::ReduceOp::Max);
    logs.loss = mean[0];
    logs.accuracy = mean[1];
    logs.val_loss = mean[2];
    logs.val_accuracy = mean[3];
    logs.seconds = slowest[0];
    logs.samples_per_second = slowest[0] > 0 ? samples[0] / slowest[0] : 0;
  }

 private:
  const TrainJob& job_;
};

}  // namespace

int launched_world_size() {
  if (int n = env_int("WORLD_SIZE")) return n;
  if (int n = env_int("OMPI_COMM_WORLD_SIZE")) return n;
  if (std::getenv("SLURM_PROCID") != nullptr)
    if (int n = env_int("SLURM_NTASKS")) return n;
  return 1;
}

std::string device_for_rank(const std::string& spec) {
  if (launched_world_size() <= 1 || !(spec == "cuda" || (spec == "auto" && cuda::is_available()))) return spec;
  const char* local = std::getenv("LOCAL_RANK");
  int index = local ? std::atoi(local) : 0;
  int count = cuda::device_count();
  return "cuda:" + std::to_string(count > 0 ? index % count : 0);
}

TrainJob join_job(const Device& device, std::chrono::milliseconds timeout) {
  TrainJob job;
  job.device = device;
  if (launched_world_size() <= 1) return job;
  // NCCL moves CUDA tensors; Gloo the CPU's.
  job.group = dist::init_process_group(device.is_cuda() ? "nccl" : "gloo", {timeout});
  job.rank = job.group->rank();
  job.world = job.group->size();
  return job;
}

void wrap_model(TrainJob& job, const std::shared_ptr<nn::Module>& module) {
  if (job.distributed()) job.ddp = std::make_unique<nn::DistributedDataParallel>(module, job.group);
}

void shard(const TrainJob& job, data::DataLoaderOptions& options, int64_t n, bool shuffle, uint64_t seed) {
  if (!job.distributed()) return;
  options.sampler(std::make_shared<data::DistributedSampler>(n, job.world, job.rank, shuffle, seed));
}

int64_t common_batch_size(const TrainJob& job, int64_t mine) {
  if (!job.distributed()) return mine;
  std::vector<int64_t> v = {mine};
  reduce_in_place(job, v, dist::ReduceOp::Min);
  return v[0];
}

std::shared_ptr<train::Callback> epoch_log_averager(const TrainJob& job) {
  return std::make_shared<EpochLogAverager>(job);
}

train::EvalResult average_eval(const TrainJob& job, train::EvalResult mine) {
  if (!job.distributed()) return mine;
  const double n = static_cast<double>(mine.samples);
  std::vector<double> sums = {mine.loss * n, mine.accuracy * n, n};
  reduce_in_place(job, sums, dist::ReduceOp::Sum);
  mine.samples = static_cast<int64_t>(sums[2]);
  mine.loss = sums[2] > 0 ? sums[0] / sums[2] : 0;
  mine.accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0;
  std::vector<int64_t> flat;
  for (const auto& row : mine.confusion) flat.insert(flat.end(), row.begin(), row.end());
  if (!flat.empty()) {  // every rank has the same classes, so the same matrix shape
    reduce_in_place(job, flat, dist::ReduceOp::Sum);
    size_t k = 0;
    for (auto& row : mine.confusion)
      for (auto& v : row) v = flat[k++];
  }
  return mine;
}

void leave_job(TrainJob& job) {
  if (!job.distributed()) return;
  job.group->barrier()->synchronize();  // no rank tears down the store while another still uses it
  job.ddp.reset();
  job.group.reset();
  dist::destroy_process_group();
}

}  // namespace kiln::cli
