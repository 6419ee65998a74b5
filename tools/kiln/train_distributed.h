// The distributed side of `kiln train`: joining the job a launcher started, DDP, sharded loaders, averaged logs.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "kiln/data/dataloader.h"
#include "kiln/dist/process_group.h"
#include "kiln/nn/distributed.h"
#include "kiln/train/callbacks.h"
#include "kiln/train/metrics.h"

namespace kiln::cli {

/// This process's part in a distributed `kiln train`; a run of one process has world 1 and no group.
struct TrainJob {
  int rank = 0, world = 1;
  Device device;  ///< the training device; small collectives (logs, batch size) travel on it (nccl: CUDA only)
  std::shared_ptr<dist::ProcessGroup> group;       ///< null when world == 1
  std::unique_ptr<nn::DistributedDataParallel> ddp;
  /// Rank 0 alone prints, writes metrics and plots, and saves checkpoints.
  bool is_main() const { return rank == 0; }
  bool distributed() const { return world > 1; }
};

/// The world size the launcher's variables announce: WORLD_SIZE (kiln launch, torchrun), else
/// OMPI_COMM_WORLD_SIZE (mpirun), else SLURM_NTASKS when SLURM_PROCID is set too (srun); 1 otherwise.
int launched_world_size();

/// --device for this rank: in a distributed run "auto" (with a GPU) and "cuda" mean cuda:LOCAL_RANK (modulo
/// the visible GPUs), as one process per GPU; any other spec is kept.
std::string device_for_rank(const std::string& spec);

/// When launched_world_size() > 1, joins the job (dist::init_process_group: "gloo" for the CPU, "nccl" for a
/// CUDA device) with the given collective timeout; otherwise a job of one.
TrainJob join_job(const Device& device, std::chrono::milliseconds timeout);

/// Wraps module in DistributedDataParallel (rank 0's weights win; the replicas' shapes are checked first).
void wrap_model(TrainJob& job, const std::shared_ptr<nn::Module>& module);

/// This rank's share of n samples per epoch (data::DistributedSampler, shuffled with seed when shuffle), set on
/// options; nothing for a job of one.
void shard(const TrainJob& job, data::DataLoaderOptions& options, int64_t n, bool shuffle, uint64_t seed);

/// Largest batch that fits on every rank: the minimum of the ranks' sizes.
int64_t common_batch_size(const TrainJob& job, int64_t mine);

/// Replaces each epoch's logs with the averages over the ranks (loss, accuracy, validation), and the throughput
/// with the job's: all ranks' samples over the slowest rank's seconds. Must come first in the callback list.
std::shared_ptr<train::Callback> epoch_log_averager(const TrainJob& job);

/// The same for a final evaluation on sharded data.
train::EvalResult average_eval(const TrainJob& job, train::EvalResult mine);

/// Waits for every rank, then leaves the job (destroy_process_group).
void leave_job(TrainJob& job);

}  // namespace kiln::cli
