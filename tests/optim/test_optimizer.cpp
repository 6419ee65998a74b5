// The Optimizer API: options, parameter groups, zero_grad, skipping parameters without gradients,
// state_dict round trips and load_state_dict's checks, and every optimizer on every device against CPU.
#include <functional>
#include <memory>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/optim/adagrad.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/rmsprop.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {
using OptFactory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

// One configuration per optimizer, with the options that give each the most state.
std::vector<std::pair<std::string, OptFactory>> all_optimizers() {
  return {
      {"SGD", [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
       }},
      {"Adam", [](std::vector<Tensor> p) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.01).amsgrad(true).weight_decay(0.1));
       }},
      {"AdamW", [](std::vector<Tensor> p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(0.01)); }},
      {"RMSprop", [](std::vector<Tensor> p) {
         return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions(0.01).momentum(0.5).centered(true));
       }},
      {"Adagrad", [](std::vector<Tensor> p) {
         return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions(0.1).lr_decay(0.01).initial_accumulator_value(0.1));
       }},
  };
}

std::vector<Tensor> make_params(const TensorOptions& o, uint64_t seed = 7) {
  Generator gen(seed);
  std::vector<Tensor> ps{randn({4, 3}, TensorOptions(kFloat64), &gen).to(o), randn({3}, TensorOptions(kFloat64), &gen).to(o)};
  for (auto& p : ps) p.requires_grad_(true);
  return ps;
}
std::vector<Tensor> copies(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const auto& p : ps) {
    Tensor c = p.detach().clone();
    c.requires_grad_(true);
    out.push_back(c);
  }
  return out;
}
// Deterministic gradients for step k.
void set_grads(std::vector<Tensor>& ps, int k) {
  Generator gen(100 + k);
  for (auto& p : ps) p.set_grad(randn(p.sizes(), TensorOptions(kFloat64), &gen).to(p.device(), p.dtype()));
}

TEST(Optimizer, OptionsChainAndReadBack) {
  auto o = optim::AdamOptions().lr(2e-3).betas({0.8, 0.9}).eps(1e-6).weight_decay(0.1).amsgrad(true);
  EXPECT_EQ(o.lr(), 2e-3);
  EXPECT_EQ(std::get<0>(o.betas()), 0.8);
  EXPECT_EQ(std::get<1>(o.betas()), 0.9);
  EXPECT_TRUE(o.amsgrad());
  EXPECT_EQ(o.get("betas.1"), 0.9);
  EXPECT_EQ(o.get("amsgrad"), 1.0);
  EXPECT_THROW(o.get("momentum"), ValueError);
  EXPECT_THROW(o.set_named_value("momentum", 0.9), ValueError);
  EXPECT_EQ(optim::AdamWOptions().weight_decay(), 1e-2);
  EXPECT_EQ(optim::SGDOptions(0.5).lr(), 0.5);
}

TEST(Optimizer, RejectsBadOptionsAndParameters) {
  auto ps = make_params(TensorOptions(kFloat32));
  EXPECT_THROW(optim::Adam(ps, optim::AdamOptions(-1.0)), ValueError);
  EXPECT_THROW(optim::Adam(ps, optim::AdamOptions().betas({1.0, 0.9})), ValueError);
  EXPECT_THROW(optim::SGD(ps, optim::SGDOptions(0.1).nesterov(true)), ValueError);  // nesterov needs momentum
  EXPECT_THROW(optim::SGD(std::vector<Tensor>{}, optim::SGDOptions(0.1)), ValueError);
  EXPECT_THROW(optim::SGD({ps[0], ps[0]}, optim::SGDOptions(0.1)), ValueError);  // duplicate
  Tensor nonleaf = ps[0] * 2.0;
  EXPECT_THROW(optim::SGD({nonleaf}, optim::SGDOptions(0.1)), ValueError);
  optim::SGD opt({ps[0]}, optim::SGDOptions(0.1));
  EXPECT_THROW(opt.add_param_group(optim::ParamGroup({ps[1]}, optim::AdamOptions())), ValueError);  // wrong kind
  EXPECT_THROW(opt.add_param_group(optim::ParamGroup({ps[0]})), ValueError);  // already optimised
  opt.add_param_group(optim::ParamGroup({ps[1]}));
  EXPECT_EQ(opt.size(), 2u);
  EXPECT_EQ(opt.param_groups()[1].options().get_lr(), 0.1);  // defaults filled in
}

TEST(Optimizer, ZeroGradSetToNoneOrZero) {
  auto ps = make_params(TensorOptions(kFloat32));
  optim::SGD opt(ps, optim::SGDOptions(0.1));
  set_grads(ps, 0);
  opt.zero_grad(/*set_to_none=*/false);
  ASSERT_TRUE(ps[0].grad().defined());
  EXPECT_EQ(ps[0].grad().sizes(), ps[0].sizes());
  for (double v : test::values(ps[0].grad())) EXPECT_EQ(v, 0.0);
  opt.zero_grad();
  EXPECT_FALSE(ps[0].grad().defined());
  EXPECT_FALSE(ps[1].grad().defined());
  EXPECT_NO_THROW(opt.zero_grad());  // nothing to clear
}

TEST(Optimizer, ParamGroupsUseTheirOwnLearningRate) {
  auto ps = make_params(TensorOptions(kFloat64));
  std::vector<optim::ParamGroup> groups{optim::ParamGroup({ps[0]}), optim::ParamGroup({ps[1]}, optim::SGDOptions(0.01))};
  optim::SGD opt(groups, optim::SGDOptions(0.5));
  auto before0 = test::values(ps[0]), before1 = test::values(ps[1]);
  set_grads(ps, 0);
  auto g0 = test::values(ps[0].grad()), g1 = test::values(ps[1].grad());
  opt.step();
  auto after0 = test::values(ps[0]), after1 = test::values(ps[1]);
  for (size_t i = 0; i < after0.size(); ++i) EXPECT_NEAR(after0[i], before0[i] - 0.5 * g0[i], 1e-15);
  for (size_t i = 0; i < after1.size(); ++i) EXPECT_NEAR(after1[i], before1[i] - 0.01 * g1[i], 1e-15);
  EXPECT_EQ(opt.param_groups()[0].options().get_lr(), 0.5);
  EXPECT_EQ(opt.param_groups()[1].options().get_lr(), 0.01);
  EXPECT_EQ(opt.parameters().size(), 2u);
}

TEST(Optimizer, ParametersWithoutGradientAreSkipped) {
  for (auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    auto ps = make_params(TensorOptions(kFloat64));
    auto opt = make(ps);
    auto before = test::values(ps[1]);
    set_grads(ps, 0);
    ps[1].mutable_grad() = Tensor();
    opt->step();
    EXPECT_EQ(test::values(ps[1]), before);
    EXPECT_EQ(opt->state(ps[1]), nullptr) << "no state is made for a parameter that was never stepped";
    EXPECT_NE(opt->state(ps[0]), nullptr);
  }
}

TEST(Optimizer, StepRunsTheClosureWithGradModeOn) {
  auto ps = make_params(TensorOptions(kFloat64));
  optim::SGD opt(ps, optim::SGDOptions(0.1));
  bool grad_mode = false;
  Tensor loss = opt.step([&] {
    grad_mode = is_grad_enabled();
    set_grads(ps, 0);
    return full({}, 3.0, TensorOptions(kFloat64));
  });
  EXPECT_TRUE(grad_mode);
  ASSERT_TRUE(loss.defined());
  EXPECT_EQ(loss.item<double>(), 3.0);
  EXPECT_FALSE(opt.step().defined());
}

TEST(Optimizer, StateDictLayout) {
  auto ps = make_params(TensorOptions(kFloat32));
  optim::Adam opt(ps, optim::AdamOptions(0.01).amsgrad(true));
  set_grads(ps, 0);
  opt.step();
  opt.step();
  StateDict sd = opt.state_dict();
  for (const char* key : {"param_groups.0.lr", "param_groups.0.betas.0", "param_groups.0.betas.1", "param_groups.0.eps",
                          "param_groups.0.weight_decay", "param_groups.0.amsgrad", "param_groups.0.params",
                          "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                          "state.1.step", "state.1.exp_avg"})
    EXPECT_EQ(sd.count(key), 1u) << key;
  EXPECT_EQ(sd.at("param_groups.0.lr").dim(), 0);
  EXPECT_EQ(sd.at("param_groups.0.lr").dtype(), kFloat64);
  EXPECT_EQ(sd.at("param_groups.0.lr").item<double>(), 0.01);
  EXPECT_EQ(sd.at("state.1.step").dtype(), kInt64);
  EXPECT_EQ(sd.at("state.1.step").item<int64_t>(), 2);
  EXPECT_EQ(sd.at("state.0.exp_avg").sizes(), ps[0].sizes());
  EXPECT_EQ(test::values(sd.at("param_groups.0.params")), (std::vector<double>{0, 1}));
}

class OptimizerDevice : public test::DeviceTest {};

// Steps 3 times, saves, loads into a fresh optimizer over copies (on this device), steps 2 more: the result
// must equal 5 uninterrupted steps exactly.
TEST_P(OptimizerDevice, StateDictRoundTripContinuesExactly) {
  KILN_SKIP_IF_NO_DEVICE();
  for (auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    auto ref = make_params(TensorOptions(kFloat64).device(dev()));
    auto ref_opt = make(ref);
    for (int k = 0; k < 5; ++k) {
      set_grads(ref, k);
      ref_opt->step();
    }
    auto first = make_params(TensorOptions(kFloat64));  // saved on the CPU
    auto first_opt = make(first);
    for (int k = 0; k < 3; ++k) {
      set_grads(first, k);
      first_opt->step();
    }
    StateDict sd = first_opt->state_dict();
    std::vector<Tensor> resumed;
    for (const Tensor& p : copies(first)) {
      Tensor q = p.detach().to(dev());
      q.requires_grad_(true);
      resumed.push_back(q);
    }
    auto resumed_opt = make(resumed);
    resumed_opt->load_state_dict(sd);
    for (const auto& p : resumed)
      for (const auto& named : resumed_opt->state(p)->tensors())
        if (named.second->defined()) EXPECT_EQ(named.second->device(), p.device()) << named.first;
    for (int k = 3; k < 5; ++k) {
      set_grads(resumed, k);
      resumed_opt->step();
    }
    // Bit-identical on the CPU; on a GPU the first 3 steps ran on the CPU, so allow FMA rounding.
    const double rtol = dev().is_cuda() ? 1e-12 : 0, atol = dev().is_cuda() ? 1e-14 : 0;
    for (size_t i = 0; i < ref.size(); ++i) test::expect_close(resumed[i], ref[i], rtol, atol);
  }
}

// The same optimizer on this device and on the CPU, in float32 over several steps.
TEST_P(OptimizerDevice, EveryOptimizerMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  for (auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    auto on_dev = make_params(TensorOptions(kFloat32).device(dev()));
    auto on_cpu = make_params(TensorOptions(kFloat32));
    auto a = make(on_dev), b = make(on_cpu);
    for (int k = 0; k < 4; ++k) {
      set_grads(on_dev, k);
      set_grads(on_cpu, k);
      a->step();
      b->step();
    }
    for (size_t i = 0; i < on_dev.size(); ++i) test::expect_close(on_dev[i], on_cpu[i], 1e-5, 1e-6);
  }
}

TEST_P(OptimizerDevice, MinimisesAQuadratic) {
  KILN_SKIP_IF_NO_DEVICE();
  for (auto& [name, make] : all_optimizers()) {
    SCOPED_TRACE(name);
    Tensor target = tensor(std::vector<double>{1.0, -2.0, 0.5}, {3}, opts(kFloat64));
    Tensor w = zeros({3}, opts(kFloat64));
    w.requires_grad_(true);
    auto opt = make({w});
    double first = 0, last = 0;
    for (int k = 0; k < 60; ++k) {
      opt->zero_grad();
      Tensor loss = sum(square(w - target));
      loss.backward();
      opt->step();
      (k == 0 ? first : last) = loss.item<double>();
    }
    EXPECT_LT(last, 0.5 * first);
  }
}

TEST(Optimizer, LoadStateDictNamesEveryProblemAndChangesNothing) {
  auto ps = make_params(TensorOptions(kFloat32));
  optim::Adam opt(ps, optim::AdamOptions(0.01));
  set_grads(ps, 0);
  opt.step();
  const StateDict good = opt.state_dict();
  auto expect_error = [&](const StateDict& sd, const std::vector<std::string>& fragments) {
    auto fresh = make_params(TensorOptions(kFloat32));
    optim::Adam other(fresh, optim::AdamOptions(0.5));
    try {
      other.load_state_dict(sd);
      ADD_FAILURE() << "expected ValueError";
    } catch (const ValueError& e) {
      for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
    EXPECT_EQ(other.param_groups()[0].options().get_lr(), 0.5) << "a failed load must not change the optimizer";
    EXPECT_EQ(other.state(fresh[0]), nullptr);
  };
  StateDict missing = good;
  missing.erase("state.0.exp_avg_sq");
  missing.erase("param_groups.0.eps");
  expect_error(missing, {"state.0.exp_avg_sq", "param_groups.0.eps", "missing"});
  StateDict shape = good;
  shape["state.1.exp_avg"] = zeros({4}, TensorOptions(kFloat32));
  expect_error(shape, {"state.1.exp_avg", "[4]", "[3]"});
  StateDict extra = good;
  extra["state.0.momentum_buffer"] = zeros({4, 3}, TensorOptions(kFloat32));
  expect_error(extra, {"unexpected", "state.0.momentum_buffer"});
  StateDict sgd_dict = optim::SGD(make_params(TensorOptions(kFloat32)), optim::SGDOptions(0.1)).state_dict();
  expect_error(sgd_dict, {"param_groups.0.betas.0", "param_groups.0.momentum"});
  // Another number of groups is refused up front.
  auto ps2 = make_params(TensorOptions(kFloat32));
  optim::Adam grouped(std::vector<optim::ParamGroup>{optim::ParamGroup({ps2[0]}), optim::ParamGroup({ps2[1]})});
  EXPECT_THROW(grouped.load_state_dict(good), ValueError);
}

TEST(Optimizer, LoadStateDictRestoresOptionsAndCastsState) {
  auto ps = make_params(TensorOptions(kFloat64));
  optim::RMSprop opt(ps, optim::RMSpropOptions(0.03).alpha(0.8).momentum(0.2));
  set_grads(ps, 0);
  opt.step();
  auto ps32 = make_params(TensorOptions(kFloat32));
  optim::RMSprop other(ps32, optim::RMSpropOptions(1.0).momentum(0.2));
  other.load_state_dict(opt.state_dict());
  const auto& o = static_cast<const optim::RMSpropOptions&>(other.param_groups()[0].options());
  EXPECT_EQ(o.lr(), 0.03);
  EXPECT_EQ(o.alpha(), 0.8);
  auto* st = static_cast<optim::RMSpropParamState*>(other.state(ps32[0]));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->step, 1);
  EXPECT_EQ(st->square_avg.dtype(), kFloat32);
  EXPECT_TRUE(st->momentum_buffer.defined());
  test::expect_close(st->square_avg, static_cast<optim::RMSpropParamState*>(opt.state(ps[0]))->square_avg.to(kFloat32));
}

INSTANTIATE_DEVICE_TESTS(OptimizerDevice);
}  // namespace
}  // namespace kiln
