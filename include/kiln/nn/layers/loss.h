// Loss modules (MSELoss, CrossEntropyLoss, ...): the functional losses with their settings stored.
#pragma once
#include "kiln/nn/functional.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

/// torch.nn.MSELoss.
class MSELossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<MSELossImpl>(reduction))
  explicit MSELossImpl(ReductionArg reduction = Reduction::Mean) : reduction(reduction) {}
  explicit MSELossImpl(const MSELossOptions& o) : reduction(o.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return functional::mse_loss(input, target, reduction); }
  std::string name() const override { return "MSELoss"; }
  Reduction reduction;
};
KILN_MODULE(MSELoss);

/// torch.nn.L1Loss.
class L1LossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<L1LossImpl>(reduction))
  explicit L1LossImpl(ReductionArg reduction = Reduction::Mean) : reduction(reduction) {}
  explicit L1LossImpl(const L1LossOptions& o) : reduction(o.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return functional::l1_loss(input, target, reduction); }
  std::string name() const override { return "L1Loss"; }
  Reduction reduction;
};
KILN_MODULE(L1Loss);

/// torch.nn.SmoothL1Loss.
class SmoothL1LossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<SmoothL1LossImpl>(reduction, beta))
  explicit SmoothL1LossImpl(ReductionArg reduction = Reduction::Mean, double beta = 1.0)
      : reduction(reduction), beta(beta) {}
  explicit SmoothL1LossImpl(const SmoothL1LossOptions& o) : reduction(o.reduction()), beta(o.beta()) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return functional::smooth_l1_loss(input, target, reduction, beta);
  }
  std::string name() const override { return "SmoothL1Loss"; }
  Reduction reduction;
  double beta;
};
KILN_MODULE(SmoothL1Loss);

/// torch.nn.CrossEntropyLoss; the class weight is registered as a buffer so it follows to().
class CrossEntropyLossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<CrossEntropyLossImpl>(weight.defined() ? weight.detach().clone() : Tensor(), ignore_index, reduction, label_smoothing))
  explicit CrossEntropyLossImpl(Tensor weight = Tensor(), int64_t ignore_index = -100,
                                ReductionArg reduction = Reduction::Mean, double label_smoothing = 0.0);
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& o)
      : CrossEntropyLossImpl(o.weight(), o.ignore_index(), o.reduction(), o.label_smoothing()) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return functional::cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing);
  }
  std::string name() const override { return "CrossEntropyLoss"; }
  Tensor weight;
  int64_t ignore_index;
  Reduction reduction;
  double label_smoothing;
};
KILN_MODULE(CrossEntropyLoss);

/// torch.nn.NLLLoss.
class NLLLossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<NLLLossImpl>(weight.defined() ? weight.detach().clone() : Tensor(), ignore_index, reduction))
  explicit NLLLossImpl(Tensor weight = Tensor(), int64_t ignore_index = -100, ReductionArg reduction = Reduction::Mean);
  explicit NLLLossImpl(const NLLLossOptions& o) : NLLLossImpl(o.weight(), o.ignore_index(), o.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return functional::nll_loss(input, target, weight, ignore_index, reduction);
  }
  std::string name() const override { return "NLLLoss"; }
  Tensor weight;
  int64_t ignore_index;
  Reduction reduction;
};
KILN_MODULE(NLLLoss);

/// torch.nn.BCELoss.
class BCELossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<BCELossImpl>(weight.defined() ? weight.detach().clone() : Tensor(), reduction))
  explicit BCELossImpl(Tensor weight = Tensor(), ReductionArg reduction = Reduction::Mean);
  explicit BCELossImpl(const BCELossOptions& o) : BCELossImpl(o.weight(), o.reduction()) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return functional::binary_cross_entropy(input, target, weight, reduction);
  }
  std::string name() const override { return "BCELoss"; }
  Tensor weight;
  Reduction reduction;
};
KILN_MODULE(BCELoss);

/// torch.nn.BCEWithLogitsLoss.
class BCEWithLogitsLossImpl : public Module {
 public:
  KILN_CLONE_EMPTY(std::make_shared<BCEWithLogitsLossImpl>(weight.defined() ? weight.detach().clone() : Tensor(), reduction, pos_weight.defined() ? pos_weight.detach().clone() : Tensor()))
  explicit BCEWithLogitsLossImpl(Tensor weight = Tensor(), ReductionArg reduction = Reduction::Mean,
                                 Tensor pos_weight = Tensor());
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& o)
      : BCEWithLogitsLossImpl(o.weight(), o.reduction(), o.pos_weight()) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return functional::binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight);
  }
  std::string name() const override { return "BCEWithLogitsLoss"; }
  Tensor weight;
  Reduction reduction;
  Tensor pos_weight;
};
KILN_MODULE(BCEWithLogitsLoss);
}  // namespace kiln::nn
