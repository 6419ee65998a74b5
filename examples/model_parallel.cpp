// Model parallelism: the first layers live on one device and the last on another, with explicit .to() in forward.
//
// The PyTorch program this mirrors (the "model parallel" tutorial):
//
//   class TwoDeviceNet(nn.Module):
//       def __init__(self, dev0, dev1):
//           super().__init__()
//           self.dev0, self.dev1 = dev0, dev1
//           self.seq1 = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU()).to(dev0)
//           self.fc2 = nn.Linear(32, 4).to(dev1)
//       def forward(self, x):
//           x = self.seq1(x.to(self.dev0))
//           return self.fc2(x.to(self.dev1))        # activations cross devices; autograd carries grads back
//
//   model = TwoDeviceNet("cuda:0", "cuda:1")
//   opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
//   for step in range(8):
//       opt.zero_grad()
//       loss = F.cross_entropy(model(x), y.to("cuda:1"))   # the labels go where the output is
//       loss.backward()
//       opt.step()
//       print(f"step {step + 1}/8  loss {loss.item():.6f}")
//
// Device placement: with 2+ GPUs, cuda:0 and cuda:1; with 1 GPU, cuda:0 and cpu; without a GPU (or with
// --device cpu), cpu and cpu, which runs the same code with no-op transfers. --device cuda:N starts on cuda:N.
//
// Run: example_model_parallel [--device cpu|cuda|cuda:N|auto]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>

#include "example_device.h"
#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"

using namespace kiln;
namespace F = kiln::nn::functional;

namespace {
constexpr const char* kDeviceHelp =
    "the first stage's device (default auto: cuda:0 when a GPU is usable, else cpu); "
    "the second stage goes on the next GPU, or the cpu";

// The two stages' devices: the first from --device, the second on the next GPU when there is one, else the CPU.
std::pair<Device, Device> pick_devices(const std::string& spec) {
  Device first = examples::pick_device(spec);
  if (first.is_cpu()) {
    std::cout << (cuda::is_available() ? "--device cpu" : "no usable GPU (" + cuda::unavailable_reason() + ")")
              << ": both stages run on the cpu; the transfers in forward() are no-ops\n";
    return {first, first};
  }
  if (first.index() + 1 < cuda::device_count()) return {first, Device(kCUDA, first.index() + 1)};
  std::cout << "only one GPU from " << first << " on: the second stage runs on the cpu\n";
  return {first, Device("cpu")};
}

class TwoDeviceNetImpl : public nn::Module {
 public:
  TwoDeviceNetImpl(Device dev0, Device dev1) : dev0(dev0), dev1(dev1) {
    seq1 = register_module("seq1", nn::Sequential(nn::Linear(16, 32), nn::ReLU(), nn::Linear(32, 32), nn::ReLU()));
    fc2 = register_module("fc2", nn::Linear(32, 4));
    // Each stage moves on its own; calling to() on the whole module would put everything on one device.
    seq1->to(dev0);
    fc2->to(dev1);
  }
  Tensor forward(const Tensor& x) {
    Tensor h = seq1->forward(x.to(dev0));
    return fc2(h.to(dev1));  // a differentiable copy: backward sends the gradient back to dev0
  }

  Device dev0, dev1;
  nn::Sequential seq1{nullptr};
  nn::Linear fc2{nullptr};
};
KILN_MODULE(TwoDeviceNet);
}  // namespace

int main(int argc, char** argv) {
  std::string spec = examples::parse_device_flag(argc, argv, kDeviceHelp);
  try {
    auto [dev0, dev1] = pick_devices(spec);
    std::cout << "stage 1 (seq1) on " << dev0 << ", stage 2 (fc2) on " << dev1 << "\n";

    manual_seed(0);
    Tensor x = randn({64, 16});
    Tensor y = argmax(x.narrow(1, 0, 4), 1);  // 4 classes: which of the first 4 features is largest

    TwoDeviceNet model(dev0, dev1);
    for (auto& [name, p] : model->named_parameters()) std::cout << "  " << name << " on " << p.device() << "\n";
    // One optimizer over parameters on two devices: each update runs where its parameter lives.
    optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));

    const int steps = 8;
    Tensor target = y.to(dev1);
    for (int step = 0; step < steps; ++step) {
      opt.zero_grad();
      Tensor loss = F::cross_entropy(model(x), target);
      loss.backward();
      opt.step();
      std::printf("step %d/%d  loss %.6f\n", step + 1, steps, loss.item<double>());
    }
  } catch (const Error& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
