// amp::GradScaler against torch.amp.GradScaler's runs (tests/data/amp_reference.json from
// scripts/gen_amp_reference.py), the fused unscale kernel against a float64 reference and across devices, and the
// scaler's refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "json_reference.h"
#include "kiln/amp/grad_scaler.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/clip.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/amp/amp_ops.h"
#include "test_device.h"
#include "test_util.h"

namespace kiln::test {
namespace {
using nlohmann::json;

const json& amp_reference() {
  static const json data = load_json_reference("amp_reference.json", "scripts/gen_amp_reference.py");
  return data;
}

std::vector<float> floats(const json& values) {
  std::vector<float> out;
  for (const json& v : values) out.push_back(static_cast<float>(json_number(v)));
  return out;
}

Shape shape_of(const json& s) { return s.get<std::vector<int64_t>>(); }

std::unique_ptr<optim::Optimizer> make_optimizer(const json& c, const std::vector<Tensor>& params) {
  const json& o = c["options"];
  if (c["optimizer"] == "SGD")
    return std::make_unique<optim::SGD>(params,
                                        optim::SGDOptions(o["lr"].get<double>()).momentum(o.value("momentum", 0.0)));
  return std::make_unique<optim::Adam>(params, optim::AdamOptions(o["lr"].get<double>()));
}

amp::GradScalerOptions scaler_options(const json& s) {
  amp::GradScalerOptions o;
  if (s.contains("init_scale")) o.init_scale(s["init_scale"].get<double>());
  if (s.contains("growth_factor")) o.growth_factor(s["growth_factor"].get<double>());
  if (s.contains("backoff_factor")) o.backoff_factor(s["backoff_factor"].get<double>());
  if (s.contains("growth_interval")) o.growth_interval(s["growth_interval"].get<int64_t>());
  return o;
}

class GradScalerReference : public DeviceTest {};

// The whole loop (scale, backward, inject, [unscale_ + clip], step, update) step by step against torch's record.
TEST_P(GradScalerReference, MatchesTorchRuns) {
  KILN_SKIP_IF_NO_DEVICE();
  for (const json& c : amp_reference()["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::vector<Tensor> params;
    for (size_t i = 0; i < c["shapes"].size(); ++i)
      params.push_back(tensor(floats(c["init"][i]), shape_of(c["shapes"][i]), opts()).requires_grad_(true));
    auto opt = make_optimizer(c, params);
    amp::GradScaler scaler(scaler_options(c["scaler"]));
    const int steps = static_cast<int>(c["steps"].size());
    for (int k = 0; k < steps; ++k) {
      SCOPED_TRACE("step " + std::to_string(k));
      opt->zero_grad();
      Tensor loss = zeros({}, opts());
      for (size_t i = 0; i < params.size(); ++i)
        loss = loss + (params[i] * tensor(floats(c["grads"][k][i]), shape_of(c["shapes"][i]), opts())).sum();
      scaler.scale(loss).backward();
      for (const json& inj : c["injects"]) {
        if (inj[0].get<int>() != k) continue;
        Tensor flat = params[inj[1].get<size_t>()].grad().view({-1});
        fill_(flat.narrow(0, inj[2].get<int64_t>(), 1), json_number(inj[3]));
      }
      if (!c["clip"].is_null()) {
        scaler.unscale_(*opt);
        optim::clip_grad_norm_(params, c["clip"].get<double>());
      }
      const json& want = c["steps"][k];
      EXPECT_EQ(scaler.step(*opt), want["stepped"].get<bool>());
      scaler.update();
      EXPECT_EQ(scaler.get_scale(), want["scale"].get<double>());
      EXPECT_EQ(scaler.state_dict().at("_growth_tracker").item<int64_t>(), want["growth_tracker"].get<int64_t>());
      for (size_t i = 0; i < params.size(); ++i) {
        std::vector<float> got = params[i].to(kCPU).to_vector<float>(), ref = floats(want["params"][i]);
        ASSERT_EQ(got.size(), ref.size());
        for (size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], ref[j], 1e-5 + 1e-5 * std::fabs(ref[j])) << j;
      }
    }
    const StateDict state = scaler.state_dict();
    for (const auto& [key, value] : c["state_dict"].items())
      EXPECT_EQ(state.at(key).to(kFloat64).item<double>(), value.get<double>()) << key;
  }
}
INSTANTIATE_DEVICE_TESTS(GradScalerReference);

class AmpUnscaleKernel : public DeviceTest {};

// Every floating dtype, a non-contiguous gradient and an empty one, against float64 on the host.
TEST_P(AmpUnscaleKernel, UnscalesAndFlagsNonFinite) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64, kBFloat16, kFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor a = randn({1000}, opts(dt)), b = randn({7, 9}, opts(dt)).t(), e = empty({0}, opts(dt));
    std::vector<double> a0 = a.to(kCPU).to(kFloat64).to_vector<double>();
    std::vector<double> b0 = b.to(kCPU).contiguous().to(kFloat64).to_vector<double>();
    Tensor found = zeros({}, opts()), inv = full({}, 0.125, opts());
    ops::amp_non_finite_check_and_unscale_({a, b, e}, found, inv);
    EXPECT_EQ(found.item<float>(), 0.f);
    std::vector<double> a1 = a.to(kCPU).to(kFloat64).to_vector<double>();
    std::vector<double> b1 = b.to(kCPU).contiguous().to(kFloat64).to_vector<double>();
    const double tol = dt == kBFloat16 ? 1e-2 : dt == kFloat16 ? 1e-3 : 1e-7;
    for (size_t i = 0; i < a0.size(); ++i) EXPECT_NEAR(a1[i], a0[i] * 0.125, tol * std::fabs(a0[i]) + 1e-12);
    for (size_t i = 0; i < b0.size(); ++i) EXPECT_NEAR(b1[i], b0[i] * 0.125, tol * std::fabs(b0[i]) + 1e-12);

    for (double bad : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::quiet_NaN()}) {
      Tensor g = ones({300000}, opts(dt));  // several CPU tasks and several CUDA blocks
      fill_(g.narrow(0, 299999, 1), bad);
      Tensor flag = zeros({}, opts());
      ops::amp_non_finite_check_and_unscale_({ones({3}, opts(dt)), g}, flag, inv);
      EXPECT_EQ(flag.item<float>(), 1.f) << bad;
      EXPECT_EQ(g.narrow(0, 0, 1).to(kFloat64).item<double>(), 0.125);
    }
  }
}

// found_inf is only ever raised: a clean call after an overflow leaves it at 1 (update() reads the sum).
TEST_P(AmpUnscaleKernel, FlagIsSticky) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor flag = ones({}, opts()), inv = ones({}, opts());
  Tensor g = randn({10}, opts());
  Tensor before = g.clone();
  ops::amp_non_finite_check_and_unscale_({g}, flag, inv);
  EXPECT_EQ(flag.item<float>(), 1.f);
  expect_close(g, before, 0, 0);  // inv_scale 1 leaves the bits alone
}

// CUDA against the CPU on the same gradients: the same flag and bit-identical products.
TEST(AmpUnscaleCUDA, MatchesCpu) {
  KILN_SKIP_WITHOUT_GPU();
  const Device cuda("cuda");
  std::vector<Tensor> cpu_grads, dev_grads;
  for (int64_t n : {1, 1000, 70000, 200000}) {
    Tensor g = randn({n});
    cpu_grads.push_back(g.clone());
    dev_grads.push_back(g.to(cuda));
  }
  fill_(cpu_grads[2].narrow(0, 12345, 1), std::numeric_limits<double>::quiet_NaN());
  fill_(dev_grads[2].narrow(0, 12345, 1), std::numeric_limits<double>::quiet_NaN());
  Tensor fc = zeros({}), fd = zeros({}, TensorOptions().device(cuda));
  ops::amp_non_finite_check_and_unscale_(cpu_grads, fc, full({}, 1.0 / 3.0));
  ops::amp_non_finite_check_and_unscale_(dev_grads, fd, full({}, 1.0 / 3.0, TensorOptions().device(cuda)));
  EXPECT_EQ(fd.item<float>(), fc.item<float>());
  for (size_t i = 0; i < cpu_grads.size(); ++i) {
    std::vector<float> c = cpu_grads[i].to_vector<float>(), d = dev_grads[i].to(kCPU).to_vector<float>();
    for (size_t j = 0; j < c.size(); ++j) {
      if (std::isnan(c[j])) EXPECT_TRUE(std::isnan(d[j]));
      else EXPECT_EQ(c[j], d[j]) << i << " " << j;  // one correctly rounded product: bit-identical
    }
  }
}

// _amp_update_scale_'s rule: back off and reset on overflow, grow after growth_interval clean steps, never to inf.
TEST_P(AmpUnscaleKernel, UpdateScaleRule) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor scale = full({}, 8.0, opts()), tracker = zeros({}, opts(kInt32));
  ops::ScaleUpdate rule{2.0, 0.5, 2};
  auto step = [&](float inf) { ops::amp_update_scale_(scale, tracker, full({}, inf, opts()), rule); };
  step(0);
  EXPECT_EQ(scale.item<float>(), 8.f);
  EXPECT_EQ(tracker.item<int32_t>(), 1);
  step(0);
  EXPECT_EQ(scale.item<float>(), 16.f);
  EXPECT_EQ(tracker.item<int32_t>(), 0);
  step(1);
  EXPECT_EQ(scale.item<float>(), 8.f);
  step(0);
  step(2);  // any non-zero count of overflows
  EXPECT_EQ(scale.item<float>(), 4.f);
  EXPECT_EQ(tracker.item<int32_t>(), 0);
  fill_(scale, std::ldexp(1.0, 127));
  step(0);
  step(0);
  EXPECT_EQ(scale.item<float>(), std::ldexp(1.0f, 127));
}

TEST_P(AmpUnscaleKernel, ArgumentErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor found = zeros({}, opts()), inv = ones({}, opts());
  EXPECT_THROW(ops::amp_non_finite_check_and_unscale_({ones({2}, opts(kInt64))}, found, inv), DTypeError);
  EXPECT_THROW(ops::amp_non_finite_check_and_unscale_({ones({2}, opts())}, zeros({}, opts(kFloat64)), inv), DTypeError);
  EXPECT_THROW(ops::amp_non_finite_check_and_unscale_({ones({2}, opts())}, zeros({2}, opts()), inv), ValueError);
  EXPECT_THROW(ops::amp_non_finite_check_and_unscale_({Tensor()}, found, inv), ValueError);
  if (dev().is_cuda()) {
    EXPECT_THROW(ops::amp_non_finite_check_and_unscale_({ones({2})}, found, inv), DeviceError);
  }
  Tensor scale = ones({}, opts()), tracker = zeros({}, opts(kInt32));
  EXPECT_THROW(ops::amp_update_scale_(scale, zeros({}, opts()), found, {}), DTypeError);
  EXPECT_THROW(ops::amp_update_scale_(scale, tracker, found, ops::ScaleUpdate{2.0, 0.5, 0}), ValueError);
}
INSTANTIATE_DEVICE_TESTS(AmpUnscaleKernel);

// A scaler saved mid-run and loaded into a fresh one continues with the same scale and growth count.
TEST(GradScaler, StateDictRoundTripContinuesExactly) {
  auto run = [](amp::GradScaler& s, optim::SGD& opt, Tensor& p, int steps, bool overflow_first) {
    for (int k = 0; k < steps; ++k) {
      opt.zero_grad();
      s.scale((p * p).sum()).backward();
      if (overflow_first && k == 0) fill_(p.grad().narrow(0, 0, 1), std::numeric_limits<double>::infinity());
      s.step(opt);
      s.update();
    }
  };
  Tensor p = tensor(std::vector<float>{0.5f, -0.25f}).requires_grad_(true);
  optim::SGD opt({p}, optim::SGDOptions(0.01));
  amp::GradScaler a(amp::GradScalerOptions().init_scale(64).growth_interval(3));
  run(a, opt, p, 5, true);  // one backoff, then 4 clean steps: scale 64 -> 32 -> 64, tracker 1
  EXPECT_EQ(a.get_scale(), 64.0);
  amp::GradScaler b(amp::GradScalerOptions().init_scale(1).growth_interval(7));
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.get_scale(), 64.0);
  EXPECT_EQ(b.get_growth_interval(), 3);
  Tensor q = p.detach().clone().requires_grad_(true);
  optim::SGD opt2({q}, optim::SGDOptions(0.01));
  run(a, opt, p, 2, false);
  run(b, opt2, q, 2, false);
  EXPECT_EQ(a.get_scale(), 128.0);
  EXPECT_EQ(b.get_scale(), a.get_scale());
  EXPECT_EQ(b.state_dict().at("_growth_tracker").item<int64_t>(), a.state_dict().at("_growth_tracker").item<int64_t>());
}

TEST(GradScaler, RefusesMisuseWithClearErrors) {
  Tensor p = ones({2}).requires_grad_(true);
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  amp::GradScaler s;
  EXPECT_EQ(s.get_scale(), 65536.0);                    // before the first scale(): init_scale
  EXPECT_THROW(s.step(opt), ValueError);                // no scale(loss) yet
  EXPECT_THROW(s.update(), ValueError);
  EXPECT_THROW(s.scale(ones({2}, kInt64)), DTypeError);
  s.scale(p.sum()).backward();
  s.unscale_(opt);
  EXPECT_THROW(s.unscale_(opt), ValueError);            // twice before update()
  EXPECT_TRUE(s.step(opt));
  EXPECT_THROW(s.step(opt), ValueError);                // twice before update()
  EXPECT_THROW(s.unscale_(opt), ValueError);            // after step()
  s.update();
  EXPECT_THROW(s.update(), ValueError);                 // nothing recorded since the last update()
  optim::SGD empty_opt({ones({2}).requires_grad_(true)}, optim::SGDOptions(0.1));
  EXPECT_THROW(s.step(empty_opt), ValueError);          // no gradients to check
  EXPECT_THROW(amp::GradScaler(amp::GradScalerOptions().growth_factor(0.5)), ValueError);
  EXPECT_THROW(amp::GradScaler(amp::GradScalerOptions().backoff_factor(1.5)), ValueError);
  EXPECT_THROW(s.load_state_dict({}), ValueError);
  StateDict partial = s.state_dict();
  partial.erase("growth_interval");
  EXPECT_THROW(s.load_state_dict(partial), ValueError);

  Tensor h = ones({2}, kFloat16).requires_grad_(true);
  optim::SGD half_opt({h}, optim::SGDOptions(0.1));
  s.scale(h.to(kFloat32).sum()).backward();
  EXPECT_THROW(s.unscale_(half_opt), DTypeError);       // float16 master weights
}

TEST(GradScaler, UpdateWithExplicitScaleAndDisabledScaler) {
  Tensor p = ones({2}).requires_grad_(true);
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  amp::GradScaler s;
  s.scale(p.sum()).backward();
  s.step(opt);
  s.update(4.0);
  EXPECT_EQ(s.get_scale(), 4.0);

  amp::GradScaler off(amp::GradScalerOptions().enabled(false));
  Tensor loss = p.sum();
  EXPECT_TRUE(off.scale(loss).is_same(loss));
  opt.zero_grad();
  off.scale(loss).backward();
  EXPECT_TRUE(off.step(opt));
  off.update();
  EXPECT_EQ(off.get_scale(), 1.0);
  EXPECT_TRUE(off.state_dict().empty());
}
}  // namespace
}  // namespace kiln::test
