// diag::compare_devices: each op in float32 on each device against the same op in float64 on the CPU, with the
// tolerance float32 should meet and the usual reasons it does not land exactly.
#include "kiln/diag/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/adam.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/ops/view.h"

namespace kiln::diag {
namespace {
namespace F = kiln::nn::functional;

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Why float32 results move away from the float64 reference, per kind of op.
const char* const kPointwiseCauses =
    "float32 rounding of the result; the math library (glibc libm on the CPU, libdevice on the GPU) and fused "
    "multiply-adds differ by a few ulp";
const char* const kSumCauses =
    "summation order: threads (CPU) or blocks (GPU) add partial sums in different groupings, each rounding to "
    "float32";
const char* const kGemmCauses =
    "summation order inside the blocked GEMM kernels (OpenBLAS, cuBLAS) and fused multiply-adds; TF32 would add "
    "about 1e-3 relative, but kiln keeps float32 GEMMs in full precision";
const char* const kSoftmaxCauses = "exp/log ulps plus the summation order of each row's normaliser";
const char* const kScatterCauses =
    "summation order: on the GPU float atomics add in arrival order (different on every run unless "
    "kiln::set_deterministic(true))";
const char* const kTrainCauses =
    "every cause above, compounded through the forward, backward and Adam updates (Adam divides by sqrt of "
    "squared gradients, which magnifies differences in tiny gradients)";

/// Floating inputs in `dtype` on `device`; integer ones (targets, indices) only moved.
std::vector<Tensor> inputs_on(const std::vector<Tensor>& inputs, Device device, DType dtype) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs)
    out.push_back(is_floating_point(t.dtype()) ? t.to(device, dtype) : t.to(device));
  return out;
}

OpComparison measure(const std::string& op, Device device, const Tensor& result, const Tensor& reference,
                     double tolerance, const char* causes) {
  std::vector<double> x = result.to(Device("cpu"), kFloat64).contiguous().to_vector<double>();
  std::vector<double> r = reference.to(Device("cpu"), kFloat64).contiguous().to_vector<double>();
  KILN_CHECK(x.size() == r.size(), "compare: ", op, " gave ", x.size(), " values on ", device.str(), " but ",
             r.size(), " in the reference");
  double scale = 0;
  for (double v : r) scale = std::max(scale, std::fabs(v));
  // Rounding errors of sums and products scale with the terms added, not with the result, so an element
  // that cancels to near zero carries an error sized like its neighbours: the check allows that much.
  const double significant = scale * 1e-3, floor = scale * 1e-2;
  OpComparison c{op, device.str(), 0, 0, tolerance, true, causes};
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(x[i] - r[i]);
    c.max_abs_diff = std::max(c.max_abs_diff, d);
    if (std::fabs(r[i]) >= significant && std::fabs(r[i]) > 0)
      c.max_rel_diff = std::max(c.max_rel_diff, d / std::fabs(r[i]));
    if (!(d <= tolerance * (std::fabs(r[i]) + floor))) c.within = false;  // also false for NaN
  }
  return c;
}

struct OpCase {
  std::string name;
  std::vector<Tensor> inputs;  // float64 (or integer) on the CPU
  OpFn fn;
  double tolerance;
  const char* causes;
};

std::vector<OpCase> op_cases(uint64_t seed) {
  Generator g(seed);
  const TensorOptions f64 = TensorOptions().dtype(kFloat64);
  auto randn64 = [&](Shape s) { return randn(s, f64, &g); };
  std::vector<OpCase> cases;
  // float32 has a 2^-24 = 6e-8 unit roundoff; the tolerances leave room for the error bounds of each op.
  cases.push_back({"matmul [256x512]x[512x128]", {randn64({256, 512}), randn64({512, 128})},
                   [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }, 1e-4, kGemmCauses});
  cases.push_back({"sum [1M]", {randn64({1 << 20})}, [](const std::vector<Tensor>& t) { return sum(t[0]); }, 1e-4,
                   kSumCauses});
  cases.push_back({"sum [1000x1000] dim 0", {randn64({1000, 1000})},
                   [](const std::vector<Tensor>& t) { return sum(t[0], {0}); }, 1e-4, kSumCauses});
  cases.push_back({"mean [1000x1000]", {randn64({1000, 1000})}, [](const std::vector<Tensor>& t) { return mean(t[0]); },
                   1e-4, kSumCauses});
  cases.push_back({"softmax [512x1000] dim 1", {randn64({512, 1000})},
                   [](const std::vector<Tensor>& t) { return softmax(t[0], 1); }, 1e-5, kSoftmaxCauses});
  cases.push_back({"log_softmax [512x1000] dim 1", {randn64({512, 1000})},
                   [](const std::vector<Tensor>& t) { return log_softmax(t[0], 1); }, 1e-5, kSoftmaxCauses});
  cases.push_back({"exp [1M]", {randn64({1 << 20})}, [](const std::vector<Tensor>& t) { return t[0].exp(); }, 1e-6,
                   kPointwiseCauses});
  cases.push_back({"tanh [1M]", {randn64({1 << 20})}, [](const std::vector<Tensor>& t) { return t[0].tanh(); }, 1e-6,
                   kPointwiseCauses});
  cases.push_back({"cross_entropy [512x10]", {randn64({512, 10}), randint(0, 10, {512}, {}, &g)},
                   [](const std::vector<Tensor>& t) { return F::cross_entropy(t[0], t[1]); }, 1e-5, kSoftmaxCauses});
  cases.push_back({"scatter_add [100000x16] into [8x16]", {randn64({100000, 16}), randint(0, 8, {100000, 16}, {}, &g)},
                   [](const std::vector<Tensor>& t) {
                     return scatter_add(zeros({8, 16}, t[0].options()), 0, t[1], t[0]);
                   },
                   1e-3, kScatterCauses});
  return cases;
}

/// The default MLP after `steps` Adam steps on fixed random batches, in `dtype` on `device`: its parameters
/// flattened into one vector, followed by the loss of every step.
Tensor train_mlp(Device device, DType dtype, uint64_t seed, int steps) {
  manual_seed(seed);
  nn::Sequential net(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(), nn::Linear(128, 10));
  net->to(device, dtype);
  optim::Adam opt(net->parameters(), optim::AdamOptions(1e-3));
  Generator g(seed + 1);
  std::vector<Tensor> pieces;
  for (int s = 0; s < steps; ++s) {
    Tensor x = randn({64, 784}, TensorOptions().dtype(kFloat64), &g).to(device, dtype);
    Tensor y = randint(0, 10, {64}, {}, &g).to(device);
    opt.zero_grad();
    Tensor loss = F::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    pieces.push_back(loss.detach().reshape({1}));
  }
  NoGradGuard no_grad;
  for (const Tensor& p : net->parameters()) pieces.push_back(p.detach().reshape({-1}));
  return cat(pieces, 0);
}
}  // namespace

std::vector<OpComparison> compare_devices(const CompareOptions& options) {
  KILN_CHECK(!options.devices.empty(), "compare: no device to compare");
  KILN_CHECK(options.train_steps >= 0, "compare: train_steps must be >= 0, got ", options.train_steps);
  std::vector<OpComparison> rows;
  const std::vector<OpCase> cases = op_cases(options.seed);
  const Device cpu("cpu");
  for (const OpCase& c : cases) {
    const Tensor reference = c.fn(c.inputs);
    for (const Device& d : options.devices)
      rows.push_back(measure(c.name, d, c.fn(inputs_on(c.inputs, d, kFloat32)), reference, c.tolerance, c.causes));
  }
  if (options.train_steps > 0) {
    // The default generator is reseeded for the model's initialisation; put it back afterwards.
    const uint64_t seed = default_generator().seed(), offset = default_generator().offset();
    const Tensor reference = train_mlp(cpu, kFloat64, options.seed, options.train_steps);
    const std::string name = "MLP 784-256-128-10, " + std::to_string(options.train_steps) + " Adam steps";
    for (const Device& d : options.devices)
      rows.push_back(measure(name, d, train_mlp(d, kFloat32, options.seed, options.train_steps), reference, 1e-2,
                             kTrainCauses));
    default_generator().manual_seed(seed);
    default_generator().set_offset(offset);
  }
  return rows;
}

std::string format_comparisons(const std::vector<OpComparison>& rows) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-44s %-8s %11s %11s %9s  %s\n", "op (float32 vs float64 CPU reference)", "device",
                "max abs", "max rel", "tolerance", "within");
  os << line;
  for (const OpComparison& r : rows) {
    std::snprintf(line, sizeof line, "%-44s %-8s %11.3e %11.3e %9.0e  %s\n", r.op.c_str(), r.device.c_str(),
                  r.max_abs_diff, r.max_rel_diff, r.tolerance, r.within ? "yes" : "NO");
    os << line;
  }
  os << "within: every element has |x - ref| <= tolerance * (|ref| + 0.01 * max |ref|); max rel is over elements "
        "with |ref| >= 0.001 * max |ref|\n";
  os << "\nWhy float32 results differ from the float64 reference (and between devices):\n";
  std::vector<std::string> seen;
  for (const OpComparison& r : rows) {
    const std::string kind = r.op.substr(0, r.op.find(' '));
    if (std::find(seen.begin(), seen.end(), kind) != seen.end()) continue;
    seen.push_back(kind);
    os << "  " << kind << ": " << r.causes << "\n";
  }
  os << "Differences within tolerance are expected rounding, not bugs. Outside it, suspect the op (or, for "
        "training, a divergence that started small: compare each op above first).\n";
  return os.str();
}
}  // namespace kiln::diag
