// Keras-style training: a Sequential model compiled with Adam and MSE, then fit() on in-memory tensors.
//
// The Keras program this mirrors ("Dense(64, relu) then Dense(1)"):
//
//   model = keras.Sequential([keras.Input((20,)), layers.Dense(64, activation="relu"), layers.Dense(1)])
//   model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
//   history = model.fit(x, y, batch_size=32, epochs=5, shuffle=True)       # x: 1000 x 20, y: 1000 x 1
//   print(history.history["loss"])
//
// and in PyTorch terms the model is
//
//   model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 1)).to(device)
//
// trained by the usual zero_grad / forward / backward / step loop over a shuffled DataLoader(batch_size=32),
// which train::Model::fit runs for you, moving each batch to the model's device.
//
// Run: example_keras_style [--device cpu|cuda|cuda:N|auto]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "example_device.h"
#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"
#include "kiln/train/model.h"

using namespace kiln;

namespace {
constexpr const char* kDeviceHelp = "where to train (default auto: cuda when a GPU is usable, else cpu)";
}  // namespace

int main(int argc, char** argv) {
  std::string spec = examples::parse_device_flag(argc, argv, kDeviceHelp);
  try {
    Device device = examples::pick_device(spec);
    std::cout << "device: " << device << "\n";

    // 1000 random rows with a smooth target the network can learn: y = sum(sin(x)) / 4 + noise.
    manual_seed(0);
    Tensor x = randn({1000, 20});
    Tensor y = sum(sin(x), {1}, /*keepdim=*/true) / 4.0 + 0.05 * randn({1000, 1});

    nn::Sequential net(nn::Linear(20, 64), nn::ReLU(), nn::Linear(64, 1));
    net->to(device);  // the data stays on the CPU: fit() moves each batch to the model's device

    train::Model model(net);
    // Keras' compile(optimizer="adam", loss="mse"): no accuracy metric for a regression.
    model.compile(std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions(1e-3)),
                  train::loss_by_name("mse"), /*metrics=*/{});

    train::FitOptions fit;
    fit.epochs = 5;
    fit.batch_size = 32;
    fit.shuffle = true;
    fit.seed = 0;
    // verbose=1: one line per epoch (a live bar on a terminal).
    fit.callbacks.push_back(std::make_shared<train::ProgressLogger>(fit.epochs));
    train::History history = model.fit(x, y, fit);

    std::printf("history.loss:");
    for (double l : history.series("loss")) std::printf(" %.6f", l);
    std::printf("\n");
    train::EvalResult r = model.evaluate(x, y);
    std::printf("evaluate: mse %.6f on %lld samples\n", r.loss, static_cast<long long>(r.samples));
  } catch (const Error& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
