// Optimizers and LR schedulers against PyTorch's float64 values in tests/data/optim_reference.json
// (made by scripts/gen_optim_reference.py): every optimizer on every device, on contiguous parameters
// (the fused kernels) and on transposed ones (the composed-op fallback).
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "json_reference.h"
#include "kiln/optim/adagrad.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/rmsprop.h"
#include "kiln/optim/schedulers.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln {
namespace {
using json = nlohmann::json;

const json& reference() {
  static const json data = test::load_json_reference("optim_reference.json", "scripts/gen_optim_reference.py");
  return data;
}

double num(const json& o, const char* key, double fallback) { return o.contains(key) ? o[key].get<double>() : fallback; }
bool flag(const json& o, const char* key, bool fallback = false) { return o.contains(key) ? o[key].get<bool>() : fallback; }
optim::Betas betas(const json& o) {
  if (!o.contains("betas")) return {0.9, 0.999};
  return {o["betas"][0].get<double>(), o["betas"][1].get<double>()};
}

optim::SGDOptions sgd_options(const json& o, double lr) {
  return optim::SGDOptions(lr)
      .momentum(num(o, "momentum", 0))
      .dampening(num(o, "dampening", 0))
      .weight_decay(num(o, "weight_decay", 0))
      .nesterov(flag(o, "nesterov"));
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, const json& o, std::vector<Tensor> params) {
  if (name == "SGD") return std::make_unique<optim::SGD>(params, sgd_options(o, num(o, "lr", 1e-3)));
  if (name == "Adam")
    return std::make_unique<optim::Adam>(params, optim::AdamOptions(num(o, "lr", 1e-3))
                                                     .betas(betas(o))
                                                     .eps(num(o, "eps", 1e-8))
                                                     .weight_decay(num(o, "weight_decay", 0))
                                                     .amsgrad(flag(o, "amsgrad")));
  if (name == "AdamW")
    return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(num(o, "lr", 1e-3))
                                                      .betas(betas(o))
                                                      .eps(num(o, "eps", 1e-8))
                                                      .weight_decay(num(o, "weight_decay", 1e-2))
                                                      .amsgrad(flag(o, "amsgrad")));
  if (name == "RMSprop")
    return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions(num(o, "lr", 1e-2))
                                                        .alpha(num(o, "alpha", 0.99))
                                                        .eps(num(o, "eps", 1e-8))
                                                        .weight_decay(num(o, "weight_decay", 0))
                                                        .momentum(num(o, "momentum", 0))
                                                        .centered(flag(o, "centered")));
  if (name == "Adagrad")
    return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions(num(o, "lr", 1e-2))
                                                        .lr_decay(num(o, "lr_decay", 0))
                                                        .weight_decay(num(o, "weight_decay", 0))
                                                        .initial_accumulator_value(num(o, "initial_accumulator_value", 0))
                                                        .eps(num(o, "eps", 1e-10)));
  throw std::runtime_error("unknown optimizer in the reference file: " + name);
}

// A 2-D parameter made transposed (non-contiguous) when `strided`, so the update takes the composed path.
Tensor make_param(const std::vector<double>& values, const Shape& shape, const TensorOptions& opts, bool strided) {
  Tensor p;
  if (strided && shape.size() == 2) {
    std::vector<double> tv(values.size());
    for (int64_t i = 0; i < shape[0]; ++i)
      for (int64_t j = 0; j < shape[1]; ++j) tv[j * shape[0] + i] = values[i * shape[1] + j];
    p = tensor(tv, Shape{shape[1], shape[0]}, opts).t();
  } else {
    p = tensor(values, shape, opts);
  }
  p.requires_grad_(true);
  return p;
}

class OptimReference : public test::DeviceTest {
 protected:
  void run_all(bool strided) {
    for (const json& c : reference()["optimizers"]) {
      const std::string name = c["optimizer"].get<std::string>();
      SCOPED_TRACE(name + " " + c["options"].dump() + (strided ? " (transposed parameter)" : ""));
      std::vector<Shape> shapes;
      std::vector<Tensor> params;
      for (size_t i = 0; i < c["shapes"].size(); ++i) {
        shapes.push_back(c["shapes"][i].get<Shape>());
        params.push_back(make_param(c["init"][i].get<std::vector<double>>(), shapes[i], opts(kFloat64), strided));
      }
      if (strided) ASSERT_FALSE(params[0].is_contiguous());
      auto opt = make_optimizer(name, c["options"], params);
      for (size_t k = 0; k < c["grads"].size(); ++k) {
        for (size_t i = 0; i < params.size(); ++i) {
          const json& g = c["grads"][k][i];
          if (g.is_null()) params[i].mutable_grad() = Tensor();
          else params[i].set_grad(tensor(g.get<std::vector<double>>(), shapes[i], opts(kFloat64)));
        }
        opt->step();
        for (size_t i = 0; i < params.size(); ++i) {
          SCOPED_TRACE("step " + std::to_string(k) + ", parameter " + std::to_string(i));
          test::expect_values(params[i], c["params_after"][k][i].get<std::vector<double>>(), 1e-10);
        }
      }
    }
  }
};

TEST_P(OptimReference, OptimizersMatchPyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  run_all(/*strided=*/false);
}

TEST_P(OptimReference, ComposedFallbackMatchesPyTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  run_all(/*strided=*/true);
}

INSTANTIATE_DEVICE_TESTS(OptimReference);

std::unique_ptr<optim::LRScheduler> make_scheduler(const std::string& name, const json& a, optim::Optimizer& opt) {
  if (name == "StepLR") return std::make_unique<optim::StepLR>(opt, a["step_size"].get<int64_t>(), num(a, "gamma", 0.1));
  if (name == "MultiStepLR")
    return std::make_unique<optim::MultiStepLR>(opt, a["milestones"].get<std::vector<int64_t>>(), num(a, "gamma", 0.1));
  if (name == "ExponentialLR") return std::make_unique<optim::ExponentialLR>(opt, a["gamma"].get<double>());
  if (name == "CosineAnnealingLR")
    return std::make_unique<optim::CosineAnnealingLR>(opt, a["T_max"].get<int64_t>(), num(a, "eta_min", 0));
  if (name == "LinearLR") {
    const double start = num(a, "start_factor", 1.0 / 3), end = num(a, "end_factor", 1.0);
    const int64_t iters = a.contains("total_iters") ? a["total_iters"].get<int64_t>() : 5;
    // A warm-up (ending at factor 1) goes through LinearWarmup, which must be exactly this LinearLR.
    if (end == 1.0) return std::make_unique<optim::LinearWarmup>(opt, iters, start);
    return std::make_unique<optim::LinearLR>(opt, start, end, iters);
  }
  if (name == "OneCycleLR") {
    std::vector<double> max_lrs;
    if (a["max_lr"].is_array()) max_lrs = a["max_lr"].get<std::vector<double>>();
    else max_lrs.assign(opt.param_groups().size(), a["max_lr"].get<double>());
    return std::make_unique<optim::OneCycleLR>(
        opt, max_lrs, a["total_steps"].get<int64_t>(), num(a, "pct_start", 0.3),
        a.contains("anneal_strategy") ? a["anneal_strategy"].get<std::string>() : "cos", num(a, "div_factor", 25.0),
        num(a, "final_div_factor", 1e4), flag(a, "three_phase"), flag(a, "cycle_momentum", true),
        num(a, "base_momentum", 0.85), num(a, "max_momentum", 0.95));
  }
  throw std::runtime_error("unknown scheduler in the reference file: " + name);
}

TEST(OptimReferenceSchedulers, LearningRatesMatchPyTorch) {
  for (const json& c : reference()["schedulers"]) {
    const std::string name = c["scheduler"].get<std::string>();
    SCOPED_TRACE(name + " " + c["args"].dump());
    std::vector<optim::ParamGroup> groups;
    const bool adam = c["optimizer"].get<std::string>() == "Adam";
    for (double lr : c["group_lrs"].get<std::vector<double>>()) {
      std::vector<Tensor> params{zeros({1}).requires_grad_(true)};
      if (adam) groups.emplace_back(params, optim::AdamOptions(lr));
      else groups.emplace_back(params, sgd_options(c["optimizer_options"], lr));
    }
    std::unique_ptr<optim::Optimizer> opt;
    if (adam) opt = std::make_unique<optim::Adam>(groups);
    else opt = std::make_unique<optim::SGD>(groups, sgd_options(c["optimizer_options"], 0.1));
    auto sched = make_scheduler(name, c["args"], *opt);
    const json& lrs = c["lrs"];
    for (size_t k = 0; k < lrs.size(); ++k) {
      if (k > 0) {
        opt->step();
        sched->step();
      }
      SCOPED_TRACE("epoch " + std::to_string(k));
      EXPECT_EQ(sched->last_epoch(), static_cast<int64_t>(k));
      const auto& last = sched->get_last_lr();
      ASSERT_EQ(last.size(), lrs[k].size());
      for (size_t g = 0; g < last.size(); ++g) {
        const double expected = lrs[k][g].get<double>();
        EXPECT_NEAR(last[g], expected, 1e-12 * (1 + std::fabs(expected))) << "group " << g;
        EXPECT_EQ(opt->param_groups()[g].options().get_lr(), last[g]);
        if (c.contains("momenta")) {
          const double m = opt->param_groups()[g].options().get(adam ? "betas.0" : "momentum");
          EXPECT_NEAR(m, c["momenta"][k][g].get<double>(), 1e-12) << "momentum of group " << g;
        }
      }
    }
  }
}
}  // namespace
}  // namespace kiln
