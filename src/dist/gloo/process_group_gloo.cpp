// The Gloo backend: CPU collectives over Gloo's TCP transport, meeting through kiln's Store.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include "dist/backends.h"
#include "dist/work_queue.h"

namespace kiln::dist::detail {
namespace {

// Gloo's rendezvous writes its addresses through this. The prefix keeps several groups on one store apart:
// every process creates its groups in the same order, so the n-th group has the same prefix on every rank.
class GlooStore : public gloo::rendezvous::Store {
 public:
  GlooStore(std::shared_ptr<dist::Store> store, std::string prefix) : store_(std::move(store)), prefix_(std::move(prefix)) {}
  void set(const std::string& key, const std::vector<char>& data) override {
    store_->set(prefix_ + key, std::string(data.begin(), data.end()));
  }
  std::vector<char> get(const std::string& key) override {
    std::string v = store_->get(prefix_ + key);
    return std::vector<char>(v.begin(), v.end());
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, store_->timeout()); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    std::vector<std::string> full;
    for (const auto& k : keys) full.push_back(prefix_ + k);
    store_->wait(full, timeout);
  }

 private:
  std::shared_ptr<dist::Store> store_;
  std::string prefix_;
};

std::atomic<int> group_counter{0};

// GLOO_SOCKET_IFNAME (PyTorch's variable) picks the interface; otherwise this host's name, and loopback when
// the name does not resolve (then only a single-machine job can work, as in PyTorch).
std::shared_ptr<gloo::transport::Device> make_device() {
  gloo::transport::tcp::attr attr;
  if (const char* iface = std::getenv("GLOO_SOCKET_IFNAME")) {
    attr.iface = iface;
    return gloo::transport::tcp::CreateDevice(attr);
  }
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) == 0) {
    attr.hostname = host;
    try {
      return gloo::transport::tcp::CreateDevice(attr);
    } catch (const std::exception&) {
    }
  }
  attr.hostname = "127.0.0.1";
  return gloo::transport::tcp::CreateDevice(attr);
}

// Calls f with a value of the C++ type of a dtype the backend accepts (check_tensor guarantees one of these).
template <typename F>
void with_cpp_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    case DType::Int64: f(int64_t{}); return;
    default: throw DTypeError(::kiln::detail::str("dist: gloo cannot reduce ", dtype));
  }
}

template <typename T>
gloo::AllreduceOptions::Func reduce_fn(ReduceOp op) {
  using Fn = void (*)(void*, const void*, const void*, size_t);
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: return static_cast<Fn>(&gloo::sum<T>);
    case ReduceOp::Max: return static_cast<Fn>(&gloo::max<T>);
    case ReduceOp::Min: return static_cast<Fn>(&gloo::min<T>);
  }
  return nullptr;
}

class GlooProcessGroup final : public ProcessGroup {
 public:
  GlooProcessGroup(std::shared_ptr<Store> store, int rank, int size, const ProcessGroupOptions& options)
      : ProcessGroup(rank, size, options), store_(std::move(store)) {
    std::string prefix = "gloo/" + std::to_string(group_counter++) + "/";
    try {
      auto device = make_device();
      auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
      context->setTimeout(timeout());
      GlooStore gloo_store(store_, prefix);
      context->connectFullMesh(gloo_store, device);
      context_ = context;
    } catch (const DistError&) {
      throw;
    } catch (const std::exception& e) {
      throw DistError(describe("connect", e.what()));
    }
    // No rank returns before every rank has connected, so none drops the store while another still reads it.
    barrier()->wait();
  }

  std::string backend() const override { return "gloo"; }

 protected:
  void check_tensor(const char* op, const Tensor& t) const override {
    KILN_CHECK_DEVICE(t.is_cpu(), "dist::", op, ": the gloo backend works on CPU tensors, got one on ", t.device(),
                      "; move it with .cpu()");
    DType d = t.dtype();
    KILN_CHECK_DTYPE(d == kFloat32 || d == kFloat64 || d == kInt64, "dist::", op,
                     ": the gloo backend takes float32, float64 or int64 tensors, got ", d);
  }

  std::shared_ptr<Work> run_all_reduce(const Tensor& tensor, ReduceOp op) override {
    std::string what = ::kiln::detail::str("all_reduce(", reduce_op_name(op), ", ", tensor.numel(), " x ", tensor.dtype(), ")");
    return queue_.enqueue([this, tensor, op, what] {
      guarded(what, [&] {
        with_cpp_type(tensor.dtype(), [&](auto zero) {
          using T = decltype(zero);
          T* data = tensor.data_ptr<T>();
          size_t n = static_cast<size_t>(tensor.numel());
          if (n == 0) return;  // Gloo divides by the element count (SIGFPE); every rank has the same count
          gloo::AllreduceOptions opts(context_);
          opts.setOutput(data, n);
          opts.setReduceFunction(reduce_fn<T>(op));
          opts.setTag(next_tag_++);
          opts.setTimeout(timeout());
          gloo::allreduce(opts);
          if (op == ReduceOp::Avg)
            for (size_t i = 0; i < n; ++i) data[i] /= static_cast<T>(size());
        });
      });
    });
  }

  std::shared_ptr<Work> run_broadcast(const Tensor& tensor, int root) override {
    std::string what = ::kiln::detail::str("broadcast(root ", root, ", ", tensor.numel(), " x ", tensor.dtype(), ")");
    return queue_.enqueue([this, tensor, root, what] {
      guarded(what, [&] {
        with_cpp_type(tensor.dtype(), [&](auto zero) {
          using T = decltype(zero);
          if (tensor.numel() == 0) return;
          gloo::BroadcastOptions opts(context_);
          opts.setOutput(tensor.data_ptr<T>(), static_cast<size_t>(tensor.numel()));
          opts.setRoot(root);
          opts.setTag(next_tag_++);
          opts.setTimeout(timeout());
          gloo::broadcast(opts);
        });
      });
    });
  }

  std::shared_ptr<Work> run_all_gather(const std::vector<Tensor>& outputs, const Tensor& input) override {
    std::string what = ::kiln::detail::str("all_gather(", input.numel(), " x ", input.dtype(), ")");
    return queue_.enqueue([this, outputs, input, what] {
      guarded(what, [&] {
        with_cpp_type(input.dtype(), [&](auto zero) {
          using T = decltype(zero);
          size_t n = static_cast<size_t>(input.numel());
          if (n == 0) return;
          // Gloo gathers into one flat buffer, rank after rank; the outputs need not be adjacent.
          std::vector<T> flat(n * static_cast<size_t>(size()));
          gloo::AllgatherOptions opts(context_);
          opts.setInput(input.data_ptr<T>(), n);
          opts.setOutput(flat.data(), flat.size());
          opts.setTag(next_tag_++);
          opts.setTimeout(timeout());
          gloo::allgather(opts);
          for (size_t r = 0; r < outputs.size(); ++r)
            if (n > 0) std::memcpy(outputs[r].data_ptr<T>(), flat.data() + r * n, n * sizeof(T));
        });
      });
    });
  }

  std::shared_ptr<Work> run_reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs,
                                           ReduceOp op) override {
    std::string what = ::kiln::detail::str("reduce_scatter(", reduce_op_name(op), ", ", output.numel(), " x ",
                                           output.dtype(), ")");
    return queue_.enqueue([this, output, inputs, op, what] {
      guarded(what, [&] {
        with_cpp_type(output.dtype(), [&](auto zero) {
          using T = decltype(zero);
          size_t n = static_cast<size_t>(output.numel());
          if (n == 0) return;
          // All ranks' inputs end to end, all-reduced, then this rank's slice kept: Gloo's own reduce-scatter
          // (ReduceScatterHalvingDoubling, an older algorithm class without per-call timeouts) returned wrong
          // values on 3 ranks now and then, so the tested all-reduce path is used; it moves twice the bytes.
          std::vector<T> flat(n * static_cast<size_t>(size()));
          for (size_t r = 0; r < inputs.size(); ++r) std::memcpy(flat.data() + r * n, inputs[r].data_ptr<T>(), n * sizeof(T));
          gloo::AllreduceOptions opts(context_);
          opts.setOutput(flat.data(), flat.size());
          opts.setReduceFunction(reduce_fn<T>(op));
          opts.setTag(next_tag_++);
          opts.setTimeout(timeout());
          gloo::allreduce(opts);
          const T* mine = flat.data() + static_cast<size_t>(rank()) * n;
          T* out = output.data_ptr<T>();
          std::memcpy(out, mine, n * sizeof(T));
          if (op == ReduceOp::Avg)
            for (size_t i = 0; i < n; ++i) out[i] /= static_cast<T>(size());
        });
      });
    });
  }

  std::shared_ptr<Work> run_barrier() override {
    return queue_.enqueue([this] {
      guarded("barrier", [&] {
        gloo::BarrierOptions opts(context_);
        opts.setTag(next_tag_++);
        opts.setTimeout(timeout());
        gloo::barrier(opts);
      });
    });
  }

 private:
  // "dist: <what> failed on rank r of n (peers ...; backend gloo, timeout t ms): <cause>. <advice>"
  std::string describe(const std::string& what, const std::string& cause) const {
    std::string peers;
    if (size() <= 16) {
      for (int r = 0; r < size(); ++r)
        if (r != rank()) peers += (peers.empty() ? "ranks " : ", ") + std::to_string(r);
    } else {
      peers = "the other " + std::to_string(size() - 1) + " ranks";
    }
    if (peers.empty()) peers = "none";
    return ::kiln::detail::str("dist: ", what, " failed on rank ", rank(), " of ", size(), " (peers: ", peers,
                       "; backend gloo, timeout ", timeout().count(), " ms): ", cause,
                       ". A peer process may have exited or stalled; check the other ranks' output");
  }

  // Runs one collective on the queue's thread. Gloo's state after a failure is unknown, so the first failure
  // makes the group refuse every later collective with the same cause.
  void guarded(const std::string& what, const std::function<void()>& fn) {
    if (!broken_.empty())
      throw DistError(::kiln::detail::str("dist: ", what, " on rank ", rank(),
                                  ": the group is unusable after an earlier failure: ", broken_));
    try {
      fn();
    } catch (const Error&) {
      throw;  // kiln's own errors (a dtype the dispatch does not know) already say what went wrong
    } catch (const std::exception& e) {
      broken_ = describe(what, e.what());
      throw DistError(broken_);
    }
  }

  std::shared_ptr<Store> store_;  // rank 0 serves it; held for the group's life, as PyTorch does
  std::shared_ptr<gloo::Context> context_;
  uint32_t next_tag_ = 0;  // touched only on the queue's thread
  std::string broken_;     // likewise
  WorkQueue queue_;        // last: destroyed first, so no job runs on a destroyed context
};

}  // namespace

std::shared_ptr<ProcessGroup> make_gloo_group(std::shared_ptr<Store> store, int rank, int size,
                                              const ProcessGroupOptions& options) {
  // Gloo's TCP pairs write without MSG_NOSIGNAL: a peer that died would kill this rank with SIGPIPE instead of
  // failing the collective with a DistError. Ignore SIGPIPE unless the program installed its own handler.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  return std::make_shared<GlooProcessGroup>(std::move(store), rank, size, options);
}

}  // namespace kiln::dist::detail
