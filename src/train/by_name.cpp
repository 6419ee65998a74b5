// Losses and optimizers chosen by name, as Keras' compile("adam", "sparse_categorical_crossentropy").
#include <algorithm>

#include "kiln/nn/functional.h"
#include "kiln/optim/optim.h"
#include "kiln/train/model.h"

namespace kiln::train {
namespace F = kiln::nn::functional;

LossFn loss_by_name(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "cross_entropy" || n == "crossentropy" || n == "sparse_categorical_crossentropy")
    return [](const Tensor& p, const Tensor& t) { return F::cross_entropy(p, t); };
  if (n == "nll" || n == "nll_loss") return [](const Tensor& p, const Tensor& t) { return F::nll_loss(p, t); };
  if (n == "mse" || n == "mse_loss" || n == "mean_squared_error")
    return [](const Tensor& p, const Tensor& t) { return F::mse_loss(p, t); };
  if (n == "l1" || n == "mae" || n == "l1_loss" || n == "mean_absolute_error")
    return [](const Tensor& p, const Tensor& t) { return F::l1_loss(p, t); };
  if (n == "smooth_l1" || n == "huber") return [](const Tensor& p, const Tensor& t) { return F::smooth_l1_loss(p, t); };
  if (n == "bce" || n == "binary_crossentropy")
    return [](const Tensor& p, const Tensor& t) { return F::binary_cross_entropy(p, t); };
  if (n == "bce_with_logits")
    return [](const Tensor& p, const Tensor& t) { return F::binary_cross_entropy_with_logits(p, t); };
  throw ValueError("unknown loss '" + name +
                   "'; expected one of cross_entropy (sparse_categorical_crossentropy), nll, mse, l1 (mae), "
                   "smooth_l1, bce, bce_with_logits");
}

std::shared_ptr<optim::Optimizer> optimizer_by_name(const std::string& name, std::vector<Tensor> params, double lr) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  auto pick = [&](double fallback) { return lr > 0 ? lr : fallback; };
  if (n == "sgd") return std::make_shared<optim::SGD>(std::move(params), optim::SGDOptions(pick(0.01)));
  if (n == "adam") return std::make_shared<optim::Adam>(std::move(params), optim::AdamOptions(pick(1e-3)));
  if (n == "adamw") return std::make_shared<optim::AdamW>(std::move(params), optim::AdamWOptions(pick(1e-3)));
  if (n == "rmsprop") return std::make_shared<optim::RMSprop>(std::move(params), optim::RMSpropOptions(pick(1e-2)));
  if (n == "adagrad") return std::make_shared<optim::Adagrad>(std::move(params), optim::AdagradOptions(pick(1e-2)));
  throw ValueError("unknown optimizer '" + name + "'; expected one of sgd, adam, adamw, rmsprop, adagrad");
}
}  // namespace kiln::train
