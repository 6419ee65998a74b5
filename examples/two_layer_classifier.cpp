// A two-layer classifier written as a module class (fc1, fc2), trained with CrossEntropy and SGD in mini-batches.
//
// The PyTorch program this mirrors:
//
//   class Net(nn.Module):
//       def __init__(self):
//           super().__init__()
//           self.fc1 = nn.Linear(3, 2)
//           self.fc2 = nn.Linear(2, 2)   # 2 outputs, not 1: one logit per class for CrossEntropyLoss
//       def forward(self, x):
//           return self.fc2(F.relu(self.fc1(x)))
//
//   torch.manual_seed(0)
//   x = torch.randn(200, 3)
//   y = (x[:, 0] + x[:, 1] - x[:, 2] > 0).long()            # two classes, 0 and 1
//   loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True,
//                       generator=torch.Generator().manual_seed(0))
//   model = Net().to(device)
//   loss_fn = nn.CrossEntropyLoss()
//   opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
//   for epoch in range(10):
//       total, correct, n = 0.0, 0, 0
//       for xb, yb in loader:
//           xb, yb = xb.to(device), yb.to(device)
//           opt.zero_grad()
//           logits = model(xb)
//           loss = loss_fn(logits, yb)
//           loss.backward()
//           opt.step()
//           total += loss.item() * len(xb); n += len(xb)
//           correct += (logits.argmax(1) == yb).sum().item()
//       print(f"epoch {epoch + 1}/10  loss {total / n:.6f}  accuracy {correct / n:.3f}")
//
// A single-output fc2 = Linear(2, 1) would pair with BCEWithLogitsLoss instead; CrossEntropy wants one logit per class.
//
// Run: example_two_layer_classifier [--device cpu|cuda|cuda:N|auto]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "kiln/data/data.h"
#include "example_device.h"
#include "kiln/kiln.h"
#include "kiln/nn/nn.h"
#include "kiln/optim/optim.h"

using namespace kiln;
namespace F = kiln::nn::functional;

namespace {
constexpr const char* kDeviceHelp = "where to train (default auto: cuda when a GPU is usable, else cpu)";

// The module class: layers are members registered by name, so parameters() and state_dict() find them
// ("fc1.weight", ...), exactly as attribute assignment does in a torch.nn.Module.
class NetImpl : public nn::Module {
 public:
  NetImpl() {
    fc1 = register_module("fc1", nn::Linear(3, 2));
    fc2 = register_module("fc2", nn::Linear(2, 2));  // 2 classes -> 2 logits for cross_entropy
  }
  Tensor forward(const Tensor& x) { return fc2(F::relu(fc1(x))); }

  nn::Linear fc1{nullptr}, fc2{nullptr};
};
KILN_MODULE(Net);  // Net: the shared handle, as nn::Linear is to LinearImpl
}  // namespace

int main(int argc, char** argv) {
  std::string spec = examples::parse_device_flag(argc, argv, kDeviceHelp);
  try {
    Device device = examples::pick_device(spec);
    std::cout << "device: " << device << "\n";

    manual_seed(0);
    Tensor x = randn({200, 3});
    Tensor y = gt(x.select(1, 0) + x.select(1, 1) - x.select(1, 2), 0.0).to(kInt64);
    auto dataset = std::make_shared<data::TensorDataset>(x, y);
    data::DataLoader loader(dataset, data::DataLoaderOptions(20).shuffle(true).seed(0));

    Net model;
    model->to(device);
    nn::CrossEntropyLoss loss_fn;
    optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));

    const int epochs = 10;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      double total = 0;
      int64_t correct = 0, n = 0;
      for (auto& batch : loader) {
        Tensor xb = batch.data.to(device), yb = batch.target.to(device);
        opt.zero_grad();
        Tensor logits = model(xb);
        Tensor loss = loss_fn(logits, yb);
        loss.backward();
        opt.step();
        total += loss.item<double>() * static_cast<double>(xb.size(0));
        n += xb.size(0);
        correct += sum(eq(argmax(logits, 1), yb)).item<int64_t>();
      }
      std::printf("epoch %d/%d  loss %.6f  accuracy %.3f\n", epoch + 1, epochs, total / static_cast<double>(n),
                  static_cast<double>(correct) / static_cast<double>(n));
    }
  } catch (const Error& e) {
    std::cerr << argv[0] << ": error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
