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

#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"
#include "kiln/train/model.h"

using namespace kiln;

namespace {
void usage(const char* prog) {
  std::fprintf(stderr, "usage: %s [--device cpu|cuda|cuda:N|auto]\n  --device  where to train (default auto: cuda "
                       "when a GPU is usable, else cpu)\n", prog);
}

// --device auto|cpu|cuda|cuda:N; anything else prints the usage and exits with status 2, as argparse does.
std::string parse_device_flag(int argc, char** argv) {
  std::string spec = "auto";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(argv[0]);
      std::exit(0);
    } else if (a == "--device" && i + 1 < argc) {
      spec = argv[++i];
    } else if (a.rfind("--device=", 0) == 0) {
      spec = a.substr(std::strlen("--device="));
    } else {
      std::fprintf(stderr, "%s: %s '%s'\n", argv[0], a == "--device" ? "missing value for" : "unrecognised argument",
                   a.c_str());
      usage(argv[0]);
      std::exit(2);
    }
  }
  if (spec != "auto") {
    try {
      (void)Device(spec);  // only the spelling here; whether the GPU exists is checked when it is used
    } catch (const DeviceError& e) {
      std::fprintf(stderr, "%s: bad --device: %s\n", argv[0], e.what());
      usage(argv[0]);
      std::exit(2);
    }
  }
  return spec;
}

Device pick_device(const std::string& spec) {
  if (spec == "auto") return cuda::is_available() ? Device("cuda:0") : Device("cpu");
  return resolve_device(Device(spec));
}
}  // namespace

int main(int argc, char** argv) {
  std::string spec = parse_device_flag(argc, argv);
  try {
    Device device = pick_device(spec);
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
