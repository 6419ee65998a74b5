// `kiln bench --suite seed`: a deep ReLU MLP (input 10, width 512, output 1; "layers" counts the Linear layers)
// trained with MSE and Adam (lr 1e-3) on 1000 random float32 rows in batches of 32, written with the public
// API as a user would, and its floor: the step's GEMMs at the BLAS's measured rate for their shapes plus
// Adam's memory traffic at the measured copy bandwidth.
#include <chrono>

#include "bench_suites.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {
namespace F = kiln::nn::functional;

/// The suite's fixed sizes (issue 12); --quick shrinks them so the tests run it in well under a second.
struct SeedShape {
  int64_t rows = 1000, batch = 32, width = 512, inputs = 10;
  int epochs = 5;
};
SeedShape seed_shape(bool quick) {
  SeedShape s;
  if (quick) s = SeedShape{64, 32, 16, 10, 1};
  return s;
}

nn::Sequential make_seed_model(int layers, int64_t inputs, int64_t width) {
  nn::Sequential model;
  model->push_back(nn::Linear(inputs, width));
  model->push_back(nn::ReLU());
  for (int i = 0; i < layers - 2; ++i) {
    model->push_back(nn::Linear(width, width));
    model->push_back(nn::ReLU());
  }
  model->push_back(nn::Linear(width, 1));
  return model;
}

/// Seconds one epoch needs at least: every Linear's forward GEMM (x W^T), its weight-gradient GEMM (dy^T x)
/// and, but for the first layer whose input needs no gradient, its input-gradient GEMM (dy W), each at the
/// BLAS's measured rate for that very shape; plus Adam reading parameter, gradient and both moments and
/// writing parameter and moments (7 floats per parameter) at copy bandwidth. Elementwise ReLU/MSE work and
/// host overhead are left out: the floor is what the arithmetic and the optimizer's traffic cost.
double seed_epoch_floor(const Device& d, int layers, const SeedShape& s, bool quick) {
  std::vector<std::pair<int64_t, int64_t>> linears = {{s.inputs, s.width}};
  for (int i = 0; i < layers - 2; ++i) linears.push_back({s.width, s.width});
  linears.push_back({s.width, 1});
  double seconds = 0, params = 0;
  for (int64_t start = 0; start < s.rows; start += s.batch) {
    const int64_t b = std::min(s.batch, s.rows - start);
    for (size_t l = 0; l < linears.size(); ++l) {
      const auto [in, out] = linears[l];
      auto gemm = [&](int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
        return 2.0 * static_cast<double>(m * n * k) / Peaks::gemm_flops_for(d, m, n, k, ta, tb, quick);
      };
      seconds += gemm(b, out, in, false, true) + gemm(out, in, b, true, false);
      if (l > 0) seconds += gemm(b, in, out, false, false);
    }
  }
  for (const auto& [in, out] : linears) params += static_cast<double>(in * out + out);
  const double steps = static_cast<double>((s.rows + s.batch - 1) / s.batch);
  return seconds + steps * 7.0 * 4.0 * params / Peaks::copy_bytes_per_s(d, quick);
}
}  // namespace

std::vector<nlohmann::json> seed_case_keys(const Device& device, bool quick) {
  std::vector<nlohmann::json> keys;
  for (int layers : quick ? std::vector<int>{3} : std::vector<int>{10, 50}) {
    keys.push_back({{"layers", layers}});
    // On a GPU also captured as a CUDA graph (train::GraphStep; PyTorch's twin uses torch.cuda.graph), where a
    // step is one launch instead of one per kernel.
    if (device.is_cuda()) keys.push_back({{"layers", layers}, {"graph", true}});
  }
  return keys;
}

nlohmann::json run_seed_case(const nlohmann::json& keys, const Device& dev, bool quick) {
  const SeedShape s = seed_shape(quick);
  const int layers = keys.at("layers").get<int>();
  KILN_CHECK(layers >= 2, "seed: layers must be at least 2 (the input and output layers), got ", layers);
  manual_seed(0);
  Tensor x = randn({s.rows, s.inputs}).to(dev), y = randn({s.rows, 1}).to(dev);
  nn::Sequential model = make_seed_model(layers, s.inputs, s.width);
  model->to(dev);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  Tensor loss;
  // The graph case runs the same step through train::GraphStep: three eager warm-up steps, then one capture
  // replayed for every batch of 32 (the last batch of each epoch, of 8 rows, runs eagerly).
  const bool graph = keys.value("graph", false);
  KILN_CHECK(!graph || dev.is_cuda(), "seed: the graph case needs a CUDA device, not ", dev.str());
  train::GraphStep graph_step;
  train::ForwardFn forward = [&](const Tensor& in) { return model->forward(in); };
  train::LossFn mse = [](const Tensor& p, const Tensor& t) { return F::mse_loss(p, t); };
  const train::StepContext ctx{*model, forward, mse, opt};
  auto epoch = [&] {
    for (int64_t start = 0; start < s.rows; start += s.batch) {
      const int64_t n = std::min(s.batch, s.rows - start);
      if (graph) {
        loss = graph_step.run(ctx, x.narrow(0, start, n), y.narrow(0, start, n)).loss;
        continue;
      }
      opt.zero_grad();
      loss = F::mse_loss(model->forward(x.narrow(0, start, n)), y.narrow(0, start, n));
      loss.backward();
      opt.step();
    }
  };
  epoch();  // warm-up: kernels, cuBLAS handles, the allocators' blocks
  if (dev.is_cuda()) cuda::synchronize(dev.index());
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < s.epochs; ++e) epoch();
  if (dev.is_cuda()) cuda::synchronize(dev.index());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double steps_per_epoch = static_cast<double>((s.rows + s.batch - 1) / s.batch);
  const double steps = s.epochs * steps_per_epoch;
  const double floor_seconds = s.epochs * seed_epoch_floor(dev, layers, s, quick);
  // Kernel calls per step, counted over one more (untimed) epoch through the placement log: on a GPU each is a
  // launch (a cuBLAS GEMM may launch more than one). The log does not see inside a replayed graph: each replay
  // counts as one launch, beside the copies of the batch into the graph's inputs and the optimizer's upload.
  int64_t calls = 0;
  const int64_t replayed_before = graph_step.replayed_steps();
  set_log_device_placement(true, PlacementLogMode::EveryCall, [&calls](const std::string&) { ++calls; });
  try {
    epoch();
  } catch (...) {
    set_log_device_placement(false);
    throw;
  }
  set_log_device_placement(false);
  calls += graph_step.replayed_steps() - replayed_before;
  nlohmann::json row = {{"layers", layers},
          {"width", s.width},
          {"epochs", s.epochs},
          {"seconds", seconds},
          {"steps_per_s", steps / seconds},
          {"final_loss", loss.item<double>()},
          {"floor_steps_per_s", steps / floor_seconds},
          {"fraction_of_floor", floor_seconds / seconds},
          {"kernels_per_step", static_cast<double>(calls) / steps_per_epoch}};
  if (graph) {
    row["graph"] = true;
    row["graph_nodes"] = graph_step.graph_nodes();  // the operations one replay runs
  }
  return row;
}
}  // namespace kiln::cli
