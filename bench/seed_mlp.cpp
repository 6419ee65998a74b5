// The seed workload, written with kiln's public API as a user would: a deep ReLU MLP (input 10, width 512,
// output 1) trained with MSE and Adam (lr 1e-3) on 1000 random float32 rows in batches of 32. Prints one
// line per depth, "seed_mlp framework=kiln device=... layers=N ... steps_per_s=...", the same format as
// bench/pytorch/seed_mlp.py, so the two can be compared side by side.
//
// Run: kiln_seed_mlp [--device cpu|cuda|cuda:N] [--layers 10,50] [--epochs 5] [--threads N]
// "layers" counts the Linear layers: Linear(10,512), layers-2 times Linear(512,512), Linear(512,1), a ReLU
// after each but the last. One epoch (32 steps: 31 batches of 32 and one of 8) warms up; the timed epochs
// follow, with the device synchronised before the clock starts and stops (no .item() inside the steps).
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

using namespace kiln;
namespace F = kiln::nn::functional;

namespace {

struct Options {
  std::string device = "cpu";
  std::vector<int> layers = {10, 50};
  int epochs = 5;
  int threads = 0;  // 0: kiln's default
  int64_t rows = 1000, batch = 32, width = 512;
};

[[noreturn]] void usage(const char* prog, const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "%s: %s\n", prog, problem.c_str());
  std::fprintf(stderr, "usage: %s [--device cpu|cuda|cuda:N] [--layers 10,50] [--epochs 5] [--threads N]\n", prog);
  std::exit(problem.empty() ? 0 : 2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(argv[0], "");
    if (i + 1 >= argc) usage(argv[0], "missing value for '" + a + "'");
    const std::string v = argv[++i];
    try {
      if (a == "--device") {
        o.device = v;
      } else if (a == "--epochs") {
        o.epochs = std::stoi(v);
      } else if (a == "--threads") {
        o.threads = std::stoi(v);
      } else if (a == "--layers") {
        o.layers.clear();
        std::stringstream in(v);
        for (std::string item; std::getline(in, item, ',');) o.layers.push_back(std::stoi(item));
      } else {
        usage(argv[0], "unrecognised argument '" + a + "'");
      }
    } catch (const std::logic_error&) {
      usage(argv[0], "'" + v + "' is not a number (for " + a + ")");
    }
  }
  if (o.epochs < 1) usage(argv[0], "--epochs must be at least 1");
  for (int n : o.layers)
    if (n < 2) usage(argv[0], "each --layers value must be at least 2 (the input and output layers)");
  return o;
}

nn::Sequential make_model(int layers, int64_t width) {
  nn::Sequential model;
  model->push_back(nn::Linear(10, width));
  model->push_back(nn::ReLU());
  for (int i = 0; i < layers - 2; ++i) {
    model->push_back(nn::Linear(width, width));
    model->push_back(nn::ReLU());
  }
  model->push_back(nn::Linear(width, 1));
  return model;
}

void sync(const Device& dev) {
  if (dev.is_cuda()) cuda::synchronize(dev.index());
}

/// Trains `layers` deep for 1 + o.epochs epochs and prints the result line of the timed ones.
void run(const Options& o, const Device& dev, int layers) {
  manual_seed(0);
  Tensor x = randn({o.rows, 10}).to(dev), y = randn({o.rows, 1}).to(dev);
  nn::Sequential model = make_model(layers, o.width);
  model->to(dev);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  Tensor loss;
  auto epoch = [&] {
    for (int64_t start = 0; start < o.rows; start += o.batch) {
      const int64_t n = std::min(o.batch, o.rows - start);
      opt.zero_grad();
      loss = F::mse_loss(model->forward(x.narrow(0, start, n)), y.narrow(0, start, n));
      loss.backward();
      opt.step();
    }
  };
  epoch();  // warm-up: kernels, cuBLAS handles, the caching allocator's blocks
  sync(dev);
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < o.epochs; ++e) epoch();
  sync(dev);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t steps = o.epochs * ((o.rows + o.batch - 1) / o.batch);
  std::printf("seed_mlp framework=kiln device=%s layers=%d width=%lld batch=%lld rows=%lld threads=%d steps=%lld "
              "seconds=%.4f steps_per_s=%.2f loss=%.6f\n",
              dev.str().c_str(), layers, static_cast<long long>(o.width), static_cast<long long>(o.batch),
              static_cast<long long>(o.rows), get_num_threads(), static_cast<long long>(steps), seconds,
              static_cast<double>(steps) / seconds, loss.item<double>());
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    if (o.threads > 0) set_num_threads(o.threads);
    const Device dev = resolve_device(Device(o.device));
    for (int layers : o.layers) run(o, dev, layers);
  } catch (const Error& e) {
    std::fprintf(stderr, "kiln_seed_mlp: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
