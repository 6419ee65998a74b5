// DDP's construction check: every rank's module has the same parameters and buffers (shapes, dtypes), in order.
#include "nn/ddp_replica_check.h"

#include <algorithm>
#include <sstream>

#include "kiln/tensor/ops/creation.h"

namespace kiln::nn::detail {
namespace {

// One row per tensor: dtype, rank of the shape, numel, the first kDims sizes. A missing tensor is all -1.
constexpr int64_t kDims = 8;
constexpr int64_t kRow = 3 + kDims;

struct Entry {
  std::string kind;  // "parameter" or "buffer"
  std::string name;
  Tensor t;
};

std::vector<Entry> entries_of(const Module& m) {
  std::vector<Entry> out;
  for (auto& [name, t] : m.named_parameters()) out.push_back({"parameter", name, t});
  for (auto& [name, t] : m.named_buffers()) out.push_back({"buffer", name, t});
  return out;
}

std::string describe_row(const int64_t* row) {
  if (row[0] < 0) return "nothing";
  std::ostringstream os;
  os << "[";
  for (int64_t d = 0; d < std::min(row[1], kDims); ++d) os << (d ? ", " : "") << row[3 + d];
  if (row[1] > kDims) os << ", ...";
  os << "] " << dtype_name(static_cast<DType>(row[0]));
  return os.str();
}

}  // namespace

void check_replicas_match(const Module& module, dist::ProcessGroup& group) {
  const int world = group.size();
  if (world == 1) return;
  std::vector<Entry> mine = entries_of(module);
  // The tables travel on the parameters' device: the group's backend may take only that one (nccl: CUDA).
  const Device dev = mine.empty() ? Device("cpu") : mine.front().t.device();
  auto gather = [&](const Tensor& t) {
    Tensor sent = t.to(dev);
    std::vector<Tensor> outs;
    for (int r = 0; r < world; ++r) outs.push_back(empty(t.sizes(), TensorOptions(kInt64).device(dev)));
    group.all_gather(outs, sent)->synchronize();
    for (Tensor& o : outs) o = o.cpu();
    return outs;
  };
  auto counts = gather(full({1}, static_cast<int64_t>(mine.size()), TensorOptions(kInt64)));
  int64_t rows = 0;
  for (const Tensor& c : counts) rows = std::max(rows, c.to_vector<int64_t>()[0]);
  if (rows == 0) return;
  Tensor table = full({rows, kRow}, int64_t{-1}, TensorOptions(kInt64));
  int64_t* p = table.data_ptr<int64_t>();
  for (size_t i = 0; i < mine.size(); ++i) {
    int64_t* row = p + static_cast<int64_t>(i) * kRow;
    const Tensor& t = mine[i].t;
    row[0] = static_cast<int64_t>(t.dtype());
    row[1] = t.dim();
    row[2] = t.numel();
    for (int64_t d = 0; d < kDims; ++d) row[3 + d] = d < t.dim() ? t.size(d) : 0;
  }
  auto tables = gather(table);
  std::vector<std::vector<int64_t>> all;
  for (const Tensor& t : tables) all.push_back(t.to_vector<int64_t>());
  for (int64_t i = 0; i < rows; ++i) {
    auto row_of = [&](int r) { return all[static_cast<size_t>(r)].data() + i * kRow; };
    for (int r = 1; r < world; ++r) {
      if (std::equal(row_of(0), row_of(0) + kRow, row_of(r))) continue;
      std::string what = i < static_cast<int64_t>(mine.size())
                             ? mine[static_cast<size_t>(i)].kind + " #" + std::to_string(i) + " ('" +
                                   mine[static_cast<size_t>(i)].name + "' on rank " + std::to_string(group.rank()) + ")"
                             : "parameter or buffer #" + std::to_string(i);
      throw dist::DistError("DistributedDataParallel: the replicas differ between ranks: " + what + " is " +
                            describe_row(row_of(0)) + " on rank 0 but " + describe_row(row_of(r)) + " on rank " +
                            std::to_string(r) + " (parameters are counted first, then buffers, in registration "
                            "order). Every rank must build the same model (layer sizes, dtypes) before wrapping it.");
    }
  }
}

}  // namespace kiln::nn::detail
