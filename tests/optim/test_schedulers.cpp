// LR scheduler behaviour beyond the PyTorch values (test_optim_reference.cpp): construction applies epoch 0,
// every group is set, chained schedulers share the initial lr, state_dict round trips, and errors.
#include <gtest/gtest.h>

#include "kiln/core/error.h"
#include "kiln/optim/adagrad.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedulers.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"

namespace kiln {
namespace {

std::vector<optim::ParamGroup> two_groups(double lr0, double lr1) {
  std::vector<Tensor> a{zeros({2}).requires_grad_(true)}, b{zeros({3}).requires_grad_(true)};
  return {optim::ParamGroup(a, optim::SGDOptions(lr0)), optim::ParamGroup(b, optim::SGDOptions(lr1))};
}

TEST(LRScheduler, ConstructionAppliesEpochZeroToEveryGroup) {
  optim::SGD opt(two_groups(0.1, 0.2));
  optim::LinearWarmup warmup(opt, 4, 0.5);
  EXPECT_EQ(warmup.last_epoch(), 0);
  EXPECT_EQ(warmup.get_last_lr(), (std::vector<double>{0.05, 0.1}));
  EXPECT_EQ(opt.param_groups()[1].options().get_lr(), 0.1);
  for (int k = 0; k < 6; ++k) warmup.step();
  EXPECT_EQ(warmup.last_epoch(), 6);
  EXPECT_NEAR(warmup.get_last_lr()[0], 0.1, 1e-15);
  EXPECT_NEAR(warmup.get_last_lr()[1], 0.2, 1e-15);
  EXPECT_EQ(warmup.base_lrs(), (std::vector<double>{0.1, 0.2}));
}

TEST(LRScheduler, ChainedSchedulersShareTheInitialLr) {
  optim::SGD opt(two_groups(0.1, 0.2));
  optim::LinearWarmup warmup(opt, 5, 0.1);
  optim::CosineAnnealingLR cosine(opt, 10);
  EXPECT_EQ(cosine.base_lrs(), (std::vector<double>{0.1, 0.2})) << "the second scheduler must start from the group's initial lr";
}

TEST(LRScheduler, StateDictRoundTrip) {
  optim::SGD a(two_groups(0.1, 0.2)), b(two_groups(0.1, 0.2));
  optim::StepLR sa(a, 3, 0.5);
  for (int k = 0; k < 4; ++k) sa.step();
  StateDict sd = sa.state_dict();
  EXPECT_EQ(sd.at("last_epoch").item<int64_t>(), 4);
  b.load_state_dict(a.state_dict());  // the groups' lr and initial_lr come with the optimizer
  optim::StepLR sb(b, 3, 0.5);
  sb.load_state_dict(sd);
  EXPECT_EQ(sb.last_epoch(), 4);
  for (int k = 0; k < 5; ++k) {
    sa.step();
    sb.step();
    EXPECT_EQ(sa.get_last_lr(), sb.get_last_lr()) << "step " << k;
  }
  EXPECT_THROW(sb.load_state_dict(StateDict{}), ValueError);
}

TEST(LRScheduler, OneCycleChecksItsArguments) {
  optim::SGD opt(two_groups(0.1, 0.2), optim::SGDOptions(0.1).momentum(0.9));
  EXPECT_THROW(optim::OneCycleLR(opt, 1.0, 0), ValueError);
  EXPECT_THROW(optim::OneCycleLR(opt, 1.0, 10, 1.5), ValueError);
  EXPECT_THROW(optim::OneCycleLR(opt, 1.0, 10, 0.3, "exp"), ValueError);
  EXPECT_THROW(optim::OneCycleLR(opt, std::vector<double>{1.0}, 10), ValueError);  // one max_lr per group
  optim::Adagrad adagrad({zeros({1}).requires_grad_(true)});
  EXPECT_THROW(optim::OneCycleLR(adagrad, 1.0, 10), ValueError);  // no momentum to cycle
  EXPECT_NO_THROW(optim::OneCycleLR(adagrad, 1.0, 10, 0.3, "cos", 25, 1e4, false, /*cycle_momentum=*/false));
  optim::OneCycleLR sched(opt, 1.0, 4);
  EXPECT_NEAR(sched.get_last_lr()[0], 1.0 / 25, 1e-15);
  for (int k = 0; k < 3; ++k) sched.step();
  EXPECT_NEAR(sched.get_last_lr()[0], 1.0 / 25 / 1e4, 1e-12);  // the minimum at step total_steps - 1
  EXPECT_NO_THROW(sched.step());  // torch allows one more
  EXPECT_THROW(sched.step(), ValueError);  // past total_steps
}

TEST(LRScheduler, ArgumentChecks) {
  optim::SGD opt(two_groups(0.1, 0.2));
  EXPECT_THROW(optim::StepLR(opt, 0), ValueError);
  EXPECT_THROW(optim::CosineAnnealingLR(opt, 0), ValueError);
  EXPECT_THROW(optim::LinearWarmup(opt, 0), ValueError);
  EXPECT_THROW(optim::LinearLR(opt, 0.0), ValueError);
  optim::ExponentialLR sched(opt, 0.5);
  opt.add_param_group(optim::ParamGroup({zeros({1}).requires_grad_(true)}));
  EXPECT_THROW(sched.step(), ValueError);  // a group added after the scheduler was made
}
}  // namespace
}  // namespace kiln
