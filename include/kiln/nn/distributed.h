// nn::DistributedDataParallel: one model replica per process, gradients averaged across the group in buckets.
#pragma once
#include <cstdint>
#include <memory>

#include "kiln/dist/process_group.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

struct DistributedDataParallelOptions {
  /// Gradients are averaged in buckets of about this many bytes (PyTorch's bucket_cap_mb = 25).
  int64_t bucket_cap_bytes = int64_t{25} << 20;
};

/// torch.nn.parallel.DistributedDataParallel: CPU tensors over gloo, CUDA tensors over nccl (one GPU per
/// process). At construction the replicas' parameter and buffer shapes and dtypes are compared across ranks
/// (dist::DistError on every rank naming the first difference), then every parameter and buffer of module is
/// broadcast from rank 0, so all replicas start equal. Then, in each backward, every parameter's
/// gradient is averaged across the group once it has been accumulated: parameters are cut into buckets in
/// reverse registration order (roughly the order backward produces them); a bucket whose gradients are all
/// ready is copied into one flat buffer and all-reduced asynchronously; the gradient of the last parameter to
/// become ready waits for every bucket and copies the averages back into .grad. So after backward() returns,
/// every rank holds the same averaged gradients, and optimizer steps keep the replicas equal.
/// Requires: every parameter gets a gradient in every synchronised backward (otherwise nothing is averaged,
/// and the next backward throws AutogradError naming the parameters), the same model on every rank, and tensors the group's backend accepts. On CUDA the all-reduces run on the NCCL stream, overlapping the rest of
/// backward; the compute stream waits for them (no host sync) before the averages are copied back.
class DistributedDataParallel {
 public:
  /// group: the default group (dist::init_process_group) when null.
  explicit DistributedDataParallel(std::shared_ptr<Module> module, std::shared_ptr<dist::ProcessGroup> group = nullptr,
                                   DistributedDataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  /// The wrapped module: call its forward as usual (DDP itself adds nothing to the forward pass).
  const std::shared_ptr<Module>& module() const { return module_; }
  const std::shared_ptr<dist::ProcessGroup>& process_group() const { return group_; }
  /// Number of gradient buckets.
  int64_t num_buckets() const;

  /// While alive, backward passes only accumulate local gradients (no communication), as DDP's no_sync();
  /// the first synchronised backward after it averages the accumulated sums.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool previous_;
  };
  /// DDP's `with model.no_sync():` as `{ auto guard = ddp.no_sync(); ... }`.
  NoSync no_sync() { return NoSync(*this); }

  struct Reducer;  // the buckets and their state, shared with the gradient hooks

 private:
  std::shared_ptr<Module> module_;
  std::shared_ptr<dist::ProcessGroup> group_;
  std::shared_ptr<Reducer> reducer_;
};

}  // namespace kiln::nn
