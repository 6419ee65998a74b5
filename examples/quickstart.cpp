// The README's first C++ example, built with the examples so the README's code always compiles.
#include <kiln/kiln.h>
#include <iostream>
using namespace kiln;
namespace F = kiln::nn::functional;

int main() {
  // torch.cuda.is_available(), device_count(), get_device_name()
  Device dev = cuda::is_available() ? Device("cuda:0") : Device("cpu");
  std::cout << cuda::device_count() << " GPU(s); using " << dev << "\n";

  // Tensors created on a device, moved with .to(), printed like torch
  Tensor a = randn({2, 3}, TensorOptions().device(dev));
  Tensor b = ones({2, 3}).to(dev);
  std::cout << (a + b).sum(/*dims=*/{1}) << "\n";   // tensor([...], device='cuda:0')

  // A model, an optimizer, a training loop
  manual_seed(0);
  nn::Sequential model(nn::Linear(10, 64), nn::ReLU(), nn::Linear(64, 1));
  model->to(dev);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3));
  Tensor x = randn({32, 10}, dev), y = randn({32, 1}, dev);
  for (int epoch = 0; epoch < 5; ++epoch) {
    opt.zero_grad();
    Tensor loss = F::mse_loss(model->forward(x), y);
    loss.backward();
    opt.step();
    std::cout << "epoch " << epoch << " loss " << loss.item<float>() << "\n";
  }
  save_checkpoint("model.safetensors", *model, &opt);   // atomic; PyTorch can read it
}
