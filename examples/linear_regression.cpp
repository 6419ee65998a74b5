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

#include "example_device.h"
#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"

using namespace kiln;

namespace {
constexpr const char* kDeviceHelp = "where to train (default auto: cuda when a GPU is usable, else cpu)";
}  // namespace

int main(int argc, char** argv) {
  std::string spec = examples::parse_device_flag(argc, argv, kDeviceHelp);
  try {
    Device device = examples::pick_device(spec);
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
