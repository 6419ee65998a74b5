// The NCCL backend: collectives on CUDA tensors, queued on a dedicated NCCL stream per group and ordered against
// the caller's stream with events; a watchdog thread turns a timeout or an NCCL error into ncclCommAbort.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "backend/cuda/cuda_check.h"
#include "dist/backends.h"
#include "dist/nccl/nccl_api.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"

namespace kiln::dist::detail {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_dtype(DType d) {
  switch (d) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Float16: return ncclFloat16;
    case DType::BFloat16: return ncclBfloat16;
    case DType::Int64: return ncclInt64;
    case DType::Int32: return ncclInt32;
    case DType::UInt8: return ncclUint8;
    default: throw DTypeError(::kiln::detail::str("dist: nccl cannot move ", d));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

// What the group, its Work handles and its watchdog share: the communicator and the first failure. Once
// broken, the communicator is aborted and every later call throws the same message.
struct NcclState {
  std::mutex mu;
  ncclComm_t comm = nullptr;
  int device = -1;
  std::string broken;
  struct Pending {
    std::shared_ptr<cuda::Event> done;
    Clock::time_point deadline;
    std::string what;
  };
  std::vector<Pending> pending;

  // Caller holds mu. Aborting makes NCCL's kernels return, so streams (and host waits on them) move on.
  void fail(const std::string& why) {
    if (!broken.empty()) return;
    broken = why;
    if (comm) nccl().comm_abort(comm);
    comm = nullptr;
  }
  void throw_if_broken(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    if (!broken.empty()) throw DistError("dist: " + what + ": the nccl group is unusable after an earlier failure: " + broken);
  }
};

class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<NcclState> state, std::shared_ptr<cuda::Event> done, int device, std::string what,
           Clock::time_point deadline)
      : state_(std::move(state)), done_(std::move(done)), device_(device), what_(std::move(what)), deadline_(deadline) {}

  // The caller's current stream waits for the collective: no host synchronisation, as PyTorch's NCCL work.
  void wait() override {
    state_->throw_if_broken(what_);
    done_->wait(cuda::current_stream(device_));
  }

  // The host waits, polling so that a timeout or an NCCL error (the watchdog's abort) ends the wait.
  void synchronize() override {
    for (;;) {
      state_->throw_if_broken(what_);
      if (done_->query()) return;
      if (Clock::now() > deadline_) {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->fail(what_ + " timed out");
        continue;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  bool is_completed() override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (!state_->broken.empty()) return true;
    }
    return done_->query();
  }

 private:
  std::shared_ptr<NcclState> state_;
  std::shared_ptr<cuda::Event> done_;
  int device_;
  std::string what_;
  Clock::time_point deadline_;
};

std::atomic<int> nccl_group_counter{0};

class NcclProcessGroup final : public ProcessGroup {
 public:
  NcclProcessGroup(std::shared_ptr<Store> store, int rank, int size, const ProcessGroupOptions& options)
      : ProcessGroup(rank, size, options), store_(std::move(store)), state_(std::make_shared<NcclState>()),
        prefix_("nccl/" + std::to_string(nccl_group_counter++) + "/") {
    KILN_CHECK_DEVICE(cuda::is_available(), "dist: the \"nccl\" backend needs CUDA tensors and a GPU, and none is "
                      "usable: ", cuda::unavailable_reason(), ". Use \"gloo\" with CPU tensors");
    nccl();  // load it now, so a missing library is reported by the constructor
    watchdog_ = std::thread([this] { watch(); });
  }

  ~NcclProcessGroup() override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      stop_ = true;
    }
    wake_.notify_all();
    watchdog_.join();
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->comm) return;
    // Destroying waits for queued collectives; with a collective still pending a peer may be gone, so abort.
    bool idle = std::all_of(state_->pending.begin(), state_->pending.end(), [](auto& p) { return p.done->query(); });
    if (idle) nccl().comm_destroy(state_->comm);
    else nccl().comm_abort(state_->comm);
    state_->comm = nullptr;
  }

  std::string backend() const override { return "nccl"; }

 protected:
  void check_tensor(const char* op, const Tensor& t) const override {
    KILN_CHECK_DEVICE(t.is_cuda(), "dist::", op, ": the nccl backend works on CUDA tensors, got one on ", t.device(),
                      "; move it with .to(\"cuda\") or use the \"gloo\" backend for CPU tensors");
    DType d = t.dtype();
    KILN_CHECK_DTYPE(d == kFloat32 || d == kFloat64 || d == kFloat16 || d == kBFloat16 || d == kInt64 ||
                         d == kInt32 || d == kUInt8,
                     "dist::", op, ": the nccl backend takes float32, float64, float16, bfloat16, int64, int32 or "
                     "uint8 tensors, got ", d);
  }

  std::shared_ptr<Work> run_all_reduce(const Tensor& t, ReduceOp op) override {
    return launch(::kiln::detail::str("all_reduce(", reduce_op_name(op), ", ", t.numel(), " x ", t.dtype(), ")"), t,
                  {t}, [&](ncclComm_t comm, cudaStream_t s) {
                    check_nccl(nccl().all_reduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                                 nccl_dtype(t.dtype()), nccl_op(op), comm, s), "ncclAllReduce");
                  });
  }

  std::shared_ptr<Work> run_broadcast(const Tensor& t, int root) override {
    return launch(::kiln::detail::str("broadcast(root ", root, ", ", t.numel(), " x ", t.dtype(), ")"), t, {t},
                  [&](ncclComm_t comm, cudaStream_t s) {
                    check_nccl(nccl().broadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                                nccl_dtype(t.dtype()), root, comm, s), "ncclBroadcast");
                  });
  }

  // NCCL gathers into one buffer, rank after rank; the outputs need not be adjacent, so copies follow on the
  // same stream.
  std::shared_ptr<Work> run_all_gather(const std::vector<Tensor>& outputs, const Tensor& input) override {
    Tensor flat = empty({input.numel() * size()}, TensorOptions(input.dtype()).device(input.device()));
    std::vector<Tensor> touched = outputs;
    touched.push_back(input);
    touched.push_back(flat);
    return launch(::kiln::detail::str("all_gather(", input.numel(), " x ", input.dtype(), ")"), input, touched,
                  [&](ncclComm_t comm, cudaStream_t s) {
                    check_nccl(nccl().all_gather(input.data_ptr(), flat.data_ptr(), static_cast<size_t>(input.numel()),
                                                 nccl_dtype(input.dtype()), comm, s), "ncclAllGather");
                    const size_t bytes = input.nbytes();
                    for (size_t r = 0; r < outputs.size(); ++r)
                      KILN_CUDA_CHECK(cudaMemcpyAsync(outputs[r].data_ptr(), static_cast<char*>(flat.data_ptr()) + r * bytes,
                                                      bytes, cudaMemcpyDeviceToDevice, s));
                  });
  }

  std::shared_ptr<Work> run_reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs, ReduceOp op) override {
    Tensor flat = empty({output.numel() * size()}, TensorOptions(output.dtype()).device(output.device()));
    std::vector<Tensor> touched = inputs;
    touched.push_back(output);
    touched.push_back(flat);
    return launch(::kiln::detail::str("reduce_scatter(", reduce_op_name(op), ", ", output.numel(), " x ", output.dtype(), ")"),
                  output, touched, [&](ncclComm_t comm, cudaStream_t s) {
                    const size_t bytes = output.nbytes();
                    for (size_t r = 0; r < inputs.size(); ++r)
                      KILN_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(flat.data_ptr()) + r * bytes, inputs[r].data_ptr(),
                                                      bytes, cudaMemcpyDeviceToDevice, s));
                    check_nccl(nccl().reduce_scatter(flat.data_ptr(), output.data_ptr(), static_cast<size_t>(output.numel()),
                                                     nccl_dtype(output.dtype()), nccl_op(op), comm, s), "ncclReduceScatter");
                  });
  }

  // NCCL has no barrier: an all_reduce of one element on the group's device, as PyTorch does. Before the first
  // collective there is no device yet: the current one is used.
  std::shared_ptr<Work> run_barrier() override {
    int device = state_->device >= 0 ? state_->device : cuda::current_device();
    Tensor one = zeros({1}, TensorOptions(kFloat32).device(Device(DeviceType::CUDA, device)));
    return run_all_reduce(one, ReduceOp::Sum);
  }

 private:
  // Runs one collective: the NCCL stream waits for the caller's stream (the tensors' producers), call queues
  // NCCL's kernels, the tensors are marked in use by the NCCL stream (so the caching allocator does not hand
  // their memory out while NCCL still reads or writes it), and an event marks the end for Work and the watchdog.
  template <typename Call>
  std::shared_ptr<Work> launch(const std::string& what, const Tensor& t, const std::vector<Tensor>& touched, Call&& call) {
    state_->throw_if_broken(what);
    const int device = t.device().index();
    ensure_communicator(device);
    cuda::DeviceGuard guard(device);
    auto ready = std::make_shared<cuda::Event>();
    ready->record(cuda::current_stream(device));
    ready->wait(stream_);
    auto done = std::make_shared<cuda::Event>();
    const auto deadline = Clock::now() + timeout();
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (!state_->broken.empty()) throw DistError("dist: " + what + ": the nccl group is unusable: " + state_->broken);
      try {
        call(state_->comm, static_cast<cudaStream_t>(stream_.handle()));
      } catch (const DistError& e) {
        state_->fail(describe(what, e.what()));
        throw DistError(state_->broken);
      }
      done->record(stream_);
      state_->pending.push_back({done, deadline, what});
    }
    for (const Tensor& x : touched) x.record_stream(stream_);
    wake_.notify_all();
    return std::make_shared<NcclWork>(state_, done, device, describe(what, "failed"), deadline);
  }

  // One communicator per group, on the device of its first collective (one GPU per process, as DDP uses it).
  // Rank 0 makes NCCL's unique id and shares it through the store.
  void ensure_communicator(int device) {
    std::lock_guard<std::mutex> lock(init_mu_);
    if (state_->device >= 0) {
      KILN_CHECK_DEVICE(device == state_->device, "dist: this nccl group runs on cuda:", state_->device,
                        " (its first collective's device) and cannot take a tensor on cuda:", device,
                        "; use one GPU per process (cuda:LOCAL_RANK), or one group per device");
      return;
    }
    ncclUniqueId id;
    if (rank() == 0) {
      check_nccl(nccl().get_unique_id(&id), "ncclGetUniqueId");
      store_->set(prefix_ + "id", std::string(reinterpret_cast<const char*>(&id), sizeof id));
    } else {
      std::string bytes = store_->get(prefix_ + "id");
      KILN_CHECK_T(DistError, bytes.size() == sizeof id, "dist: the nccl unique id in the store has ", bytes.size(),
                   " bytes, expected ", sizeof id, " (ranks built with different NCCL versions?)");
      std::memcpy(&id, bytes.data(), sizeof id);
    }
    cuda::DeviceGuard guard(device);
    ncclComm_t comm = nullptr;
    try {
      check_nccl(nccl().comm_init_rank(&comm, size(), id, rank()), "ncclCommInitRank");
    } catch (const DistError& e) {
      throw DistError(describe("connect", e.what()));
    }
    stream_ = cuda::new_stream(device);
    std::lock_guard<std::mutex> state_lock(state_->mu);
    state_->comm = comm;
    state_->device = device;
  }

  // Every 50 ms: drops finished collectives, and aborts the communicator when one passed its deadline or NCCL
  // reports an asynchronous error (a peer that died shows as a network error), so no stream stays stuck.
  void watch() {
    std::unique_lock<std::mutex> lock(state_->mu);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(50));
      if (!state_->broken.empty() || !state_->comm) continue;
      ncclResult_t async = ncclSuccess;
      if (nccl().comm_get_async_error(state_->comm, &async) == ncclSuccess && async != ncclSuccess &&
          async != ncclInProgress) {
        state_->fail(describe("a collective", std::string("NCCL reports ") + nccl().error_string(async)));
        continue;
      }
      auto& p = state_->pending;
      p.erase(std::remove_if(p.begin(), p.end(), [](auto& w) { return w.done->query(); }), p.end());
      for (auto& w : p)
        if (Clock::now() > w.deadline) {
          state_->fail(describe(w.what, "timed out"));
          break;
        }
    }
  }

  std::string describe(const std::string& what, const std::string& cause) const {
    return ::kiln::detail::str("dist: ", what, " failed on rank ", rank(), " of ", size(), " (backend nccl, timeout ",
                               timeout().count(), " ms): ", cause,
                               ". A peer process may have exited or stalled; check the other ranks' output");
  }

  std::shared_ptr<Store> store_;
  std::shared_ptr<NcclState> state_;
  std::string prefix_;
  std::mutex init_mu_;
  cuda::Stream stream_;  // the group's NCCL stream, on state_->device
  bool stop_ = false;    // guarded by state_->mu
  std::condition_variable wake_;
  std::thread watchdog_;
};

}  // namespace

std::shared_ptr<ProcessGroup> make_nccl_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options) {
  return std::make_shared<NcclProcessGroup>(std::move(store), rank, size, options);
}

}  // namespace kiln::dist::detail
