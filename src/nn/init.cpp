// nn::init: PyTorch's initialisation formulas (torch/nn/init.py) on top of the in-place random fills.
#include "kiln/nn/init.h"

#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"

namespace kiln::nn::init {
namespace {
struct NamedNonlinearity {
  const char* name;
  Nonlinearity value;
};
constexpr NamedNonlinearity kNonlinearities[] = {
    {"linear", Nonlinearity::Linear},
    {"conv1d", Nonlinearity::Conv1D},
    {"conv2d", Nonlinearity::Conv2D},
    {"conv3d", Nonlinearity::Conv3D},
    {"conv_transpose1d", Nonlinearity::ConvTranspose1D},
    {"conv_transpose2d", Nonlinearity::ConvTranspose2D},
    {"conv_transpose3d", Nonlinearity::ConvTranspose3D},
    {"sigmoid", Nonlinearity::Sigmoid},
    {"tanh", Nonlinearity::Tanh},
    {"relu", Nonlinearity::ReLU},
    {"leaky_relu", Nonlinearity::LeakyReLU},
    {"selu", Nonlinearity::SELU},
};

void check_defined(const Tensor& t, const char* fn) {
  KILN_CHECK(t.defined(), "nn::init::", fn, ": undefined tensor");
}
void check_float(const Tensor& t, const char* fn) {
  check_defined(t, fn);
  KILN_CHECK_DTYPE(t.is_floating_point(), "nn::init::", fn, ": expected a floating-point tensor, got ", t.dtype());
}

int64_t fan(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? fan_in : fan_out;
}
}  // namespace

Nonlinearity parse_nonlinearity(const std::string& name) {
  std::string valid;
  for (const auto& n : kNonlinearities) {
    if (name == n.name) return n.value;
    valid += valid.empty() ? "" : ", ";
    valid += n.name;
  }
  throw ValueError(::kiln::detail::str("nn::init: unsupported nonlinearity '", name, "'; expected one of ", valid));
}

FanMode parse_fan_mode(const std::string& name) {
  if (name == "fan_in") return FanMode::FanIn;
  if (name == "fan_out") return FanMode::FanOut;
  throw ValueError(::kiln::detail::str("nn::init: mode '", name, "' is not supported; expected 'fan_in' or 'fan_out'"));
}

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      double slope = param < 0 ? 0.01 : param;  // torch: None -> 0.01
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::SELU:
      return 3.0 / 4.0;
    default:
      return 1.0;  // linear, conv*, sigmoid
  }
}

double calculate_gain(const std::string& nonlinearity, double param) {
  return calculate_gain(parse_nonlinearity(nonlinearity), param);
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  check_defined(t, "calculate_fan_in_and_fan_out");
  KILN_CHECK(t.dim() >= 2, "nn::init: fan in and fan out can not be computed for a tensor with fewer than 2 "
             "dimensions (got shape ", t.shape_str(), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor uniform_(Tensor t, double a, double b, Generator* gen) {
  check_float(t, "uniform_");
  KILN_CHECK(a <= b, "nn::init::uniform_: expected a <= b, got a=", a, " b=", b);
  if (t.numel() > 0) ::kiln::uniform_(t, a, b, gen);
  return t;
}

Tensor normal_(Tensor t, double mean, double std, Generator* gen) {
  check_float(t, "normal_");
  KILN_CHECK(std >= 0, "nn::init::normal_: std must be non-negative, got ", std);
  if (t.numel() > 0) ::kiln::normal_(t, mean, std, gen);
  return t;
}

Tensor constant_(Tensor t, double value) {
  check_defined(t, "constant_");
  NoGradGuard no_grad;
  if (t.numel() > 0) ::kiln::fill_(t, value);
  return t;
}
Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

Tensor xavier_uniform_(Tensor t, double gain, Generator* gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  double a = std::sqrt(3.0) * std;  // U(-a, a) has standard deviation a / sqrt(3)
  return init::uniform_(std::move(t), -a, a, gen);
}

Tensor xavier_normal_(Tensor t, double gain, Generator* gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return init::normal_(std::move(t), 0.0, std, gen);
}

Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
  check_float(t, "kaiming_uniform_");
  if (t.numel() == 0) return t;  // torch warns and does nothing for zero-element tensors
  int64_t f = fan(t, mode);
  double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(f));
  double bound = std::sqrt(3.0) * std;
  return init::uniform_(std::move(t), -bound, bound, gen);
}

Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
  check_float(t, "kaiming_normal_");
  if (t.numel() == 0) return t;
  int64_t f = fan(t, mode);
  double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(f));
  return init::normal_(std::move(t), 0.0, std, gen);
}
}  // namespace kiln::nn::init
