// dist::ProcessGroup: collectives across processes (all_reduce, broadcast, all_gather, reduce_scatter, barrier) and the default group.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dist/store.h"
#include "kiln/tensor/tensor.h"

namespace kiln::dist {

/// How all_reduce combines the ranks' values. Avg is Sum divided by the world size (floating tensors only).
enum class ReduceOp { Sum, Avg, Max, Min };
/// "sum", "avg", "max", "min".
const char* reduce_op_name(ReduceOp op);

/// A collective started asynchronously, as c10d's Work.
class Work {
 public:
  virtual ~Work() = default;
  /// Orders the caller after the collective and rethrows its error (DistError). CPU backends (gloo) block
  /// until it has finished; the wait is bounded: a collective fails after the group's timeout. NCCL, as
  /// PyTorch's, makes the caller's current CUDA stream wait instead (no host synchronisation): work queued on it
  /// afterwards sees the result, and a timeout or peer failure aborts the collective (the next call throws).
  virtual void wait() = 0;
  /// Blocks the host until the collective has finished (bounded by the timeout) and rethrows its error. For
  /// CPU backends the same as wait().
  virtual void synchronize() { wait(); }
  /// Whether the collective has finished, successfully or not; never blocks.
  virtual bool is_completed() = 0;
};

struct ProcessGroupOptions {
  /// After this long a collective that has not completed throws DistError on every rank that waits for it.
  /// Also bounds the rendezvous (connecting to the store, waiting for the other ranks).
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

/// The processes of one job and the collectives among them. Every rank must call the same collectives in the
/// same order with tensors of the same size and dtype. Collectives run in call order on a background thread;
/// each returns a Work to wait() on. A tensor must stay untouched until its Work completes. After a failed
/// collective the group is unusable: later calls throw DistError quoting the first failure.
class ProcessGroup {
 public:
  ProcessGroup(int rank, int size, ProcessGroupOptions options);
  virtual ~ProcessGroup() = default;
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }
  /// The backend's name ("gloo").
  virtual std::string backend() const = 0;

  /// In place: every rank's tensor becomes the reduction of all ranks' tensors. tensor must be defined and
  /// contiguous, with a device and dtype the backend supports (gloo: CPU float32, float64, int64).
  std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::Sum);
  /// In place: every rank's tensor becomes root's.
  std::shared_ptr<Work> broadcast(const Tensor& tensor, int root = 0);
  /// outputs[i] receives rank i's input. outputs holds size() contiguous tensors shaped like input.
  std::shared_ptr<Work> all_gather(const std::vector<Tensor>& outputs, const Tensor& input);
  /// output becomes the reduction over all ranks of their inputs[rank()] (torch.distributed.reduce_scatter).
  /// inputs holds size() contiguous tensors shaped like output, with its dtype (output may be one of them).
  std::shared_ptr<Work> reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs,
                                       ReduceOp op = ReduceOp::Sum);
  /// Completes once every rank has called it.
  std::shared_ptr<Work> barrier();

 protected:
  // The backend's part; arguments are already checked against the rules above.
  virtual std::shared_ptr<Work> run_all_reduce(const Tensor& tensor, ReduceOp op) = 0;
  virtual std::shared_ptr<Work> run_broadcast(const Tensor& tensor, int root) = 0;
  virtual std::shared_ptr<Work> run_all_gather(const std::vector<Tensor>& outputs, const Tensor& input) = 0;
  virtual std::shared_ptr<Work> run_reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs,
                                                   ReduceOp op) = 0;
  virtual std::shared_ptr<Work> run_barrier() = 0;
  /// Throws DeviceError/DTypeError when the backend cannot reduce or move `t` (op names the collective).
  virtual void check_tensor(const char* op, const Tensor& t) const = 0;

 private:
  int rank_, size_;
  ProcessGroupOptions options_;
};

/// A group for `backend` ("gloo"; "nccl" is not implemented yet) over an existing store. rank in [0, size).
/// Blocks until every rank has joined (DistError after options.timeout).
std::shared_ptr<ProcessGroup> new_group(const std::string& backend, std::shared_ptr<Store> store, int rank, int size,
                                        ProcessGroupOptions options = {});

/// torch.distributed.init_process_group(backend, init_method="env://"): reads the launcher's variables
/// (read_launch_env), makes rank 0 serve a TCPStore at MASTER_ADDR:MASTER_PORT, joins the group and makes it
/// the default group. ValueError when a variable is missing, DistError when the rendezvous times out,
/// ValueError when a default group exists already.
std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend, ProcessGroupOptions options = {});
/// Whether init_process_group made a default group that has not been destroyed.
bool is_initialized();
/// The default group; ValueError when there is none.
std::shared_ptr<ProcessGroup> default_group();
/// Drops the default group (its connections close once no one else holds it).
void destroy_process_group();

}  // namespace kiln::dist
