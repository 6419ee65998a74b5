// PyTorch's per-op host cost from C++ (libtorch's ATen API, no Python), measured as `kiln bench --suite ops`
// measures kiln's: 2x2 float32 inputs, 20000 calls per run, the best of 5 runs, microseconds per call.
// Not part of kiln's build: bench/pytorch/ops.py --build-overhead compiles it against the torch it runs with.
//
//   ops_overhead --case '{"kind": "overhead", "op": "add"}' [--device cpu|cuda] [--threads N] [--quick]
// prints one JSON row: {"impl": "torch-cpp", "device": ..., "op": ..., "us_per_call": ..., "calls": ...}.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>

namespace {

struct Tiny {
  at::Tensor a, b, leaf, weight, bias;
};

// The cases of tools/kiln/bench_ops.cpp. "linear" is what torch::nn::Linear's forward calls (at::linear), with
// parameters that require gradients so autograd records it; "backward" builds relu(a * b + a).sum() from a leaf
// that requires gradients and runs backward().
const std::map<std::string, std::function<void(Tiny&)>>& ops() {
  static const std::map<std::string, std::function<void(Tiny&)>> table = {
      {"add", [](Tiny& t) { (void)(t.a + t.b); }},
      {"mul", [](Tiny& t) { (void)(t.a * t.b); }},
      {"relu", [](Tiny& t) { (void)at::relu(t.a); }},
      {"matmul", [](Tiny& t) { (void)at::matmul(t.a, t.b); }},
      {"sum", [](Tiny& t) { (void)t.a.sum(); }},
      {"linear", [](Tiny& t) { (void)at::linear(t.a, t.weight, t.bias); }},
      {"backward", [](Tiny& t) { at::relu(t.leaf * t.b + t.leaf).sum().backward(); }},
  };
  return table;
}

// The value of "op" in the --case JSON (the only key this program needs).
std::string op_of(const std::string& json) {
  const size_t key = json.find("\"op\"");
  if (key == std::string::npos) return "";
  const size_t open = json.find('"', json.find(':', key) + 1);
  return json.substr(open + 1, json.find('"', open + 1) - open - 1);
}
}  // namespace

int main(int argc, char** argv) {
  std::string device = "cpu", op;
  int threads = 0;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (i + 1 < argc && a == "--device") device = argv[++i];
    else if (i + 1 < argc && a == "--threads") threads = std::atoi(argv[++i]);
    else if (i + 1 < argc && a == "--case") op = op_of(argv[++i]);
  }
  auto it = ops().find(op);
  if (it == ops().end()) {
    std::fprintf(stderr, "ops_overhead: no case for op '%s' (pass --case '{\"op\": \"add\"}')\n", op.c_str());
    return 2;
  }
  if (threads > 0) at::set_num_threads(threads);
  const auto opts = at::TensorOptions().dtype(at::kFloat).device(at::Device(device));
  Tiny t{at::randn({2, 2}, opts), at::randn({2, 2}, opts), at::randn({2, 2}, opts).requires_grad_(),
         at::randn({2, 2}, opts).requires_grad_(), at::randn({2}, opts).requires_grad_()};
  const int calls = quick ? 10 : 20000, reps = quick ? 1 : 5;
  double best = 1e300;
  for (int r = 0; r <= reps; ++r) {  // run 0 warms up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) it->second(t);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0 && s < best) best = s;
  }
  std::printf("{\"impl\": \"torch-cpp\", \"device\": \"%s\", \"threads\": %d, \"us_per_call\": %.4f, \"calls\": %d}\n",
              device.c_str(), at::get_num_threads(), best / calls * 1e6, calls);
  return 0;
}
