// Linear regression with nn::Linear, MSE and SGD: the first PyTorch training loop, line for line in kiln.
//
// The PyTorch program this mirrors:
//
//   torch.manual_seed(0)
//   device = "cuda" if torch.cuda.is_available() else "cpu"
//   x = torch.randn(32, 10)                                   # 32 random rows, 10 features
//   w_true = torch.randn(10, 1)
//   y = x @ w_true + 0.1 * torch.randn(32, 1)
//   x, y = x.to(device), y.to(device)
//   model = nn.Linear(10, 1).to(device)
//   loss_fn = nn.MSELoss()
//   opt = torch.optim.SGD(model.parameters(), lr=0.01)
//   for epoch in range(5):
//       opt.zero_grad()
//       loss = loss_fn(model(x), y)
//       loss.backward()
//       opt.step()
//       print(f"epoch {epoch + 1}/5  loss {loss.item():.6f}")
//
// Run: example_linear_regression [--device cpu|cuda|cuda:N|auto]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"

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

// "auto" picks the GPU when one is usable; other specs must name a device that exists (DeviceError otherwise).
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

    // The data is drawn on the CPU from a seeded generator and then moved, so every device trains on the same rows.
    manual_seed(0);
    Tensor x = randn({32, 10});
    Tensor w_true = randn({10, 1});
    Tensor y = matmul(x, w_true) + 0.1 * randn({32, 1});
    x = x.to(device);
    y = y.to(device);

    nn::Linear model(10, 1);
    model->to(device);
    nn::MSELoss loss_fn;
    optim::SGD opt(model->parameters(), optim::SGDOptions(0.01));

    const int epochs = 5;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      opt.zero_grad();
      Tensor loss = loss_fn(model(x), y);
      loss.backward();
      opt.step();
      std::printf("epoch %d/%d  loss %.6f\n", epoch + 1, epochs, loss.item<double>());
    }
  } catch (const Error& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
