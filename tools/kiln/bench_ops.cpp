// `kiln bench --suite ops`: the host cost of one op on tiny tensors (microseconds per call), and large-tensor
// throughput as a fraction of the measured peak: matmul against the BLAS's FLOP/s, elementwise ops and softmax
// against memory-copy bandwidth. bench/pytorch/ops.py and ops_overhead.cpp measure the same cases in PyTorch.
#include <chrono>
#include <map>

#include "bench_suites.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {
namespace F = kiln::nn::functional;

/// One tiny-tensor case: what it runs once per call, on 2x2 float32 inputs made for the device.
struct TinyInputs {
  Tensor a, b, leaf;
  nn::Linear linear{nullptr};
};
using TinyOp = void (*)(TinyInputs&);

/// The per-op overhead cases. "linear" is nn::Linear(2, 2)'s forward (its parameters require gradients, so
/// autograd records the op); "backward" builds relu(a * b + a).sum() from a leaf that requires gradients and
/// runs backward() on it: four recorded ops and their backward nodes per call.
const std::vector<std::pair<std::string, TinyOp>>& tiny_ops() {
  static const std::vector<std::pair<std::string, TinyOp>> ops = {
      {"add", [](TinyInputs& t) { (void)(t.a + t.b); }},
      {"mul", [](TinyInputs& t) { (void)(t.a * t.b); }},
      {"relu", [](TinyInputs& t) { (void)F::relu(t.a); }},
      {"matmul", [](TinyInputs& t) { (void)t.a.matmul(t.b); }},
      {"sum", [](TinyInputs& t) { (void)t.a.sum(); }},
      {"linear", [](TinyInputs& t) { (void)t.linear->forward(t.a); }},
      {"backward", [](TinyInputs& t) { F::relu(t.leaf * t.b + t.leaf).sum().backward(); }},
  };
  return ops;
}

/// The throughput cases: the bytes each reads and writes per element (float32), and the op.
struct BandwidthOp {
  double bytes_per_element;
  Tensor (*run)(const Tensor& a, const Tensor& b);
};
const std::map<std::string, BandwidthOp>& bandwidth_ops() {
  static const std::map<std::string, BandwidthOp> ops = {
      {"add", {12, [](const Tensor& a, const Tensor& b) { return a + b; }}},
      {"mul", {12, [](const Tensor& a, const Tensor& b) { return a * b; }}},
      {"relu", {8, [](const Tensor& a, const Tensor&) { return F::relu(a); }}},
      {"exp", {8, [](const Tensor& a, const Tensor&) { return a.exp(); }}},
      {"softmax", {8, [](const Tensor& a, const Tensor&) { return a.softmax(1); }}},
  };
  return ops;
}

nlohmann::json run_overhead(const std::string& op, const Device& dev, bool quick) {
  TinyOp fn = nullptr;
  for (const auto& [name, f] : tiny_ops())
    if (name == op) fn = f;
  KILN_CHECK(fn != nullptr, "ops: no overhead case named '", op, "'");
  TinyInputs t;
  t.a = randn({2, 2}, dev);
  t.b = randn({2, 2}, dev);
  t.leaf = randn({2, 2}, dev).requires_grad_();
  t.linear = nn::Linear(2, 2);
  t.linear->to(dev);
  const int calls = quick ? 10 : 20000;
  const double seconds = best_seconds(dev, quick ? 1 : 5, [&] {
    for (int i = 0; i < calls; ++i) fn(t);
  });
  return {{"us_per_call", seconds / calls * 1e6}, {"calls", calls}};
}

nlohmann::json run_throughput(const std::string& op, const Device& dev, bool quick) {
  NoGradGuard no_grad;
  if (op == "matmul") {
    const int64_t n = quick ? 64 : (dev.is_cuda() ? 8192 : 2048);
    Tensor a = randn({n, n}, dev), b = randn({n, n}, dev);
    const double rate = 2.0 * static_cast<double>(n * n * n) / best_seconds(dev, quick ? 1 : 5, [&] { (void)a.mm(b); });
    const double peak = Peaks::gemm_flops(dev, quick);
    return {{"size", n}, {"unit", "GFLOP/s"}, {"rate", rate / 1e9}, {"peak", peak / 1e9}, {"fraction_of_peak", rate / peak}};
  }
  auto it = bandwidth_ops().find(op);
  KILN_CHECK(it != bandwidth_ops().end(), "ops: no throughput case named '", op, "'");
  // 16M floats (64 MiB per tensor), softmax as 16384 rows of 1024: far beyond the caches.
  const int64_t elements = quick ? 4096 : (16 << 20);
  Tensor a = randn({elements / 1024, 1024}, dev), b = randn({elements / 1024, 1024}, dev);
  const double seconds = best_seconds(dev, quick ? 1 : 10, [&] { (void)it->second.run(a, b); });
  const double rate = it->second.bytes_per_element * static_cast<double>(elements) / seconds;
  const double peak = Peaks::copy_bytes_per_s(dev, quick);
  return {{"size", elements}, {"unit", "GB/s"}, {"rate", rate / 1e9}, {"peak", peak / 1e9}, {"fraction_of_peak", rate / peak}};
}
}  // namespace

std::vector<nlohmann::json> ops_case_keys() {
  std::vector<nlohmann::json> keys;
  for (const auto& op : tiny_ops()) keys.push_back({{"kind", "overhead"}, {"op", op.first}});
  keys.push_back({{"kind", "throughput"}, {"op", "matmul"}});
  for (const auto& op : bandwidth_ops()) keys.push_back({{"kind", "throughput"}, {"op", op.first}});
  return keys;
}

nlohmann::json run_ops_case(const nlohmann::json& keys, const Device& device, bool quick) {
  const std::string kind = keys.at("kind"), op = keys.at("op");
  nlohmann::json row = kind == "overhead" ? run_overhead(op, device, quick) : run_throughput(op, device, quick);
  row["kind"] = kind;
  row["op"] = op;
  return row;
}
}  // namespace kiln::cli
