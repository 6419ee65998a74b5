// ProcessGroup's argument checks (shared by every backend), the backend table and the default group.
#include "kiln/dist/process_group.h"

#include <mutex>

#include "dist/backends.h"
#include "kiln/dist/launch_env.h"

namespace kiln::dist {
namespace {

using Factory = std::shared_ptr<ProcessGroup> (*)(std::shared_ptr<Store>, int, int, const ProcessGroupOptions&);

// One row per backend name; adding a backend is a row and its factory (see docs/ARCHITECTURE.md).
struct BackendRow {
  const char* name;
  Factory make;
};
constexpr BackendRow kBackends[] = {
    {"gloo", detail::make_gloo_group},
    {"nccl", detail::make_nccl_group},
};

std::mutex default_mu;
std::shared_ptr<ProcessGroup> default_pg;

void check_dense(const char* op, const Tensor& t, const char* what) {
  KILN_CHECK(t.defined(), "dist::", op, ": ", what, " is an undefined tensor");
  KILN_CHECK(t.is_contiguous(), "dist::", op, ": ", what,
             " must be contiguous (collectives move raw memory); call .contiguous() first");
}

}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "?";
}

ProcessGroup::ProcessGroup(int rank, int size, ProcessGroupOptions options)
    : rank_(rank), size_(size), options_(options) {
  KILN_CHECK(size >= 1 && rank >= 0 && rank < size, "dist: rank ", rank, " is outside [0, ", size, ")");
  KILN_CHECK(options.timeout.count() > 0, "dist: the timeout must be positive, got ", options.timeout.count(), " ms");
}

std::shared_ptr<Work> ProcessGroup::all_reduce(const Tensor& tensor, ReduceOp op) {
  check_dense("all_reduce", tensor, "the tensor");
  check_tensor("all_reduce", tensor);
  KILN_CHECK_DTYPE(op != ReduceOp::Avg || is_floating_point(tensor.dtype()), "dist::all_reduce: avg needs a floating "
                   "tensor, got ", tensor.dtype(), "; use sum and divide by the world size in floating point");
  return run_all_reduce(tensor, op);
}

std::shared_ptr<Work> ProcessGroup::broadcast(const Tensor& tensor, int root) {
  check_dense("broadcast", tensor, "the tensor");
  check_tensor("broadcast", tensor);
  KILN_CHECK_INDEX(root >= 0 && root < size_, "dist::broadcast: root ", root, " is outside [0, ", size_, ")");
  return run_broadcast(tensor, root);
}

std::shared_ptr<Work> ProcessGroup::all_gather(const std::vector<Tensor>& outputs, const Tensor& input) {
  check_dense("all_gather", input, "the input");
  check_tensor("all_gather", input);
  KILN_CHECK(static_cast<int>(outputs.size()) == size_, "dist::all_gather: needs one output per rank (", size_,
             "), got ", outputs.size());
  for (const auto& out : outputs) {
    check_dense("all_gather", out, "an output");
    KILN_CHECK_SHAPE(out.sizes() == input.sizes(), "dist::all_gather: every output must be shaped like the input ",
                     input.shape_str(), ", got ", out.shape_str());
    KILN_CHECK_DTYPE(out.dtype() == input.dtype(), "dist::all_gather: every output must have the input's dtype ",
                     input.dtype(), ", got ", out.dtype());
    check_tensor("all_gather", out);
  }
  return run_all_gather(outputs, input);
}

std::shared_ptr<Work> ProcessGroup::reduce_scatter(const Tensor& output, const std::vector<Tensor>& inputs,
                                                   ReduceOp op) {
  check_dense("reduce_scatter", output, "the output");
  check_tensor("reduce_scatter", output);
  KILN_CHECK_DTYPE(op != ReduceOp::Avg || is_floating_point(output.dtype()), "dist::reduce_scatter: avg needs a "
                   "floating tensor, got ", output.dtype(), "; use sum and divide by the world size in floating point");
  KILN_CHECK(static_cast<int>(inputs.size()) == size_, "dist::reduce_scatter: needs one input per rank (", size_,
             "), got ", inputs.size());
  for (const auto& in : inputs) {
    check_dense("reduce_scatter", in, "an input");
    KILN_CHECK_SHAPE(in.sizes() == output.sizes(), "dist::reduce_scatter: every input must be shaped like the output ",
                     output.shape_str(), ", got ", in.shape_str());
    KILN_CHECK_DTYPE(in.dtype() == output.dtype(), "dist::reduce_scatter: every input must have the output's dtype ",
                     output.dtype(), ", got ", in.dtype());
    check_tensor("reduce_scatter", in);
  }
  return run_reduce_scatter(output, inputs, op);
}

std::shared_ptr<Work> ProcessGroup::barrier() { return run_barrier(); }

std::shared_ptr<ProcessGroup> new_group(const std::string& backend, std::shared_ptr<Store> store, int rank, int size,
                                        ProcessGroupOptions options) {
  KILN_CHECK(store != nullptr, "dist::new_group: the store is null");
  std::string known;
  for (const auto& row : kBackends) {
    if (backend == row.name) return row.make(std::move(store), rank, size, options);
    known += (known.empty() ? "\"" : ", \"") + std::string(row.name) + "\"";
  }
  throw ValueError("dist: unknown backend \"" + backend + "\"; kiln has " + known);
}

std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend, ProcessGroupOptions options) {
  std::lock_guard<std::mutex> lock(default_mu);
  KILN_CHECK(default_pg == nullptr, "dist::init_process_group: a default group exists already; call "
             "dist::destroy_process_group() first");
  LaunchEnv env = read_launch_env();
  auto store = std::make_shared<TCPStore>(env.master_addr, env.master_port, env.rank == 0, options.timeout);
  default_pg = new_group(backend, std::move(store), env.rank, env.world_size, options);
  return default_pg;
}

bool is_initialized() {
  std::lock_guard<std::mutex> lock(default_mu);
  return default_pg != nullptr;
}

std::shared_ptr<ProcessGroup> default_group() {
  std::lock_guard<std::mutex> lock(default_mu);
  KILN_CHECK(default_pg != nullptr, "dist: no default process group; call dist::init_process_group(\"gloo\") first");
  return default_pg;
}

void destroy_process_group() {
  std::shared_ptr<ProcessGroup> pg;
  {
    std::lock_guard<std::mutex> lock(default_mu);
    pg.swap(default_pg);
  }
}

}  // namespace kiln::dist
