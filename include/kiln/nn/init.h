// nn::init: in-place parameter initialisers with PyTorch's formulas (torch.nn.init), drawn from a Generator.
#pragma once
#include <string>
#include <utility>

#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln::nn::init {

/// The nonlinearity a gain is computed for (torch.nn.init.calculate_gain's names).
enum class Nonlinearity { Linear, Conv1D, Conv2D, Conv3D, ConvTranspose1D, ConvTranspose2D, ConvTranspose3D,
                          Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
/// Which fan kaiming initialisation preserves: the forward pass's variance (FanIn) or the backward's (FanOut).
enum class FanMode { FanIn, FanOut };

/// Parses torch's names ("relu", "leaky_relu", "tanh", "conv2d", ...); ValueError lists the valid names.
Nonlinearity parse_nonlinearity(const std::string& name);
/// Parses "fan_in" / "fan_out".
FanMode parse_fan_mode(const std::string& name);

/// The recommended gain: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
/// sqrt(2 / (1 + slope^2)) for leaky_relu (param = slope, 0.01 when negative), 3/4 for selu.
double calculate_gain(Nonlinearity nonlinearity, double param = -1.0);
double calculate_gain(const std::string& nonlinearity, double param = -1.0);

/// (fan_in, fan_out) of a weight [out, in, k...]: in * receptive field and out * receptive field.
/// Throws ValueError for tensors with fewer than 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

// Every initialiser writes t's storage in place without recording autograd history and returns t. t is a
// handle taken by value, as in libtorch, so views work: init::zeros_(w.narrow(0, 0, 4)).
// gen = nullptr uses the default generator, so kiln::manual_seed makes them reproducible.

/// U(a, b).
Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0, Generator* gen = nullptr);
/// N(mean, std^2).
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
/// U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot).
Tensor xavier_uniform_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
/// N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor t, double gain = 1.0, Generator* gen = nullptr);
/// U(-bound, bound) with bound = gain(nonlinearity, a) * sqrt(3 / fan) (He). a is the leaky_relu slope.
Tensor kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* gen = nullptr);
/// N(0, std^2) with std = gain(nonlinearity, a) / sqrt(fan).
Tensor kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* gen = nullptr);
}  // namespace kiln::nn::init
