// The fused optimizer kernels (src/ops/optim) against the update formulas computed on the host in float64,
// against the composed-op path, in every floating dtype, on every device; plus their argument checks.
#include <cmath>
#include <functional>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"
#include "ops/optim/fused_step.h"
#include "test_util.h"

namespace kiln {
namespace {
using ops::OptimPath;
using Vec = std::vector<double>;

// ---- host float64 reference formulas (torch.optim's single-tensor updates, element by element) ----
void adam_ref(Vec& p, Vec g, Vec& m, Vec& v, Vec& vmax, const ops::AdamHyper& h) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (h.weight_decay != 0 && !h.decoupled) g[i] += h.weight_decay * p[i];
    if (h.weight_decay != 0 && h.decoupled) p[i] *= h.decay;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g[i] * g[i];
    double second = v[i];
    if (h.amsgrad) second = vmax[i] = std::max(vmax[i], v[i]);
    p[i] -= h.step_size * m[i] / (std::sqrt(second) / h.bias_correction2_sqrt + h.eps);
  }
}
void sgd_ref(Vec& p, Vec g, Vec& buf, const ops::SgdHyper& h) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (h.weight_decay != 0) g[i] += h.weight_decay * p[i];
    if (h.momentum != 0) {
      buf[i] = h.first_step ? g[i] : h.momentum * buf[i] + (1 - h.dampening) * g[i];
      g[i] = h.nesterov ? g[i] + h.momentum * buf[i] : buf[i];
    }
    p[i] -= h.lr * g[i];
  }
}
void rmsprop_ref(Vec& p, Vec g, Vec& sq, Vec& gavg, Vec& buf, const ops::RmspropHyper& h) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (h.weight_decay != 0) g[i] += h.weight_decay * p[i];
    sq[i] = h.alpha * sq[i] + (1 - h.alpha) * g[i] * g[i];
    double avg;
    if (h.centered) {
      gavg[i] = h.alpha * gavg[i] + (1 - h.alpha) * g[i];
      avg = std::sqrt(sq[i] - gavg[i] * gavg[i]) + h.eps;
    } else {
      avg = std::sqrt(sq[i]) + h.eps;
    }
    if (h.momentum > 0) {
      buf[i] = h.momentum * buf[i] + g[i] / avg;
      p[i] -= h.lr * buf[i];
    } else {
      p[i] -= h.lr * g[i] / avg;
    }
  }
}
void adagrad_ref(Vec& p, Vec g, Vec& sum, const ops::AdagradHyper& h) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (h.weight_decay != 0) g[i] += h.weight_decay * p[i];
    sum[i] += g[i] * g[i];
    p[i] -= h.clr * g[i] / (std::sqrt(sum[i]) + h.eps);
  }
}

double tolerance(DType t) {
  switch (t) {
    case kFloat64: return 1e-12;
    case kFloat32: return 2e-5;
    case kFloat16: return 4e-3;
    default: return 3e-2;  // bfloat16
  }
}

struct FusedCase : public test::DeviceTest {
  Generator gen{1234};
  // Random values already rounded to dtype, so the reference starts from exactly what the kernel reads.
  Tensor rnd(const Shape& s, DType t, bool positive = false) {
    Tensor x = randn(s, TensorOptions(kFloat64), &gen);
    if (positive) x = abs(x);
    return x.to(dev(), t);
  }

  /// Two equal lists of parameters, gradients and `states` state buffers (buffer k non-negative when bit k of
  /// `positive` is set) for the many-parameter steps: more pieces than one launch carries, tensors longer than one
  /// block's chunk, an empty one, a transposed parameter with its state (entry 2: the fused kernel cannot take it)
  /// and a transposed gradient (entry 4).
  std::pair<std::vector<ops::OptimTensors>, std::vector<ops::OptimTensors>> awkward_lists(DType dt, int states,
                                                                                            int positive) {
    std::vector<Shape> shapes = {{200003}, {0}, {7, 3}, {65536 + 5}, {4, 6}};
    for (int i = 0; i < 40; ++i) shapes.push_back({1 + 37 * i});
    std::vector<ops::OptimTensors> mine, theirs;
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor p = i == 2 ? rnd({3, 7}, dt).t() : rnd(shapes[i], dt);
      Tensor g = i == 4 ? rnd({6, 4}, dt).t() : rnd(shapes[i], dt);
      ops::OptimTensors a{p.clone(), g, {}}, b{p, g, {}};
      for (int k = 0; k < states; ++k) {
        Tensor st = rnd(shapes[i], dt, ((positive >> k) & 1) != 0);
        if (i == 2) st = st.t().contiguous().t();
        a.state[k] = st.clone();
        b.state[k] = st;
      }
      mine.push_back(a);
      theirs.push_back(b);
    }
    return {mine, theirs};
  }
};
constexpr DType kAllFloat[] = {kFloat64, kFloat32, kFloat16, kBFloat16};
const Shape kShape{37, 29};  // odd sizes: vector loops have tails

TEST_P(FusedCase, AdamMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : kAllFloat)
    for (int wd = 0; wd < 3; ++wd)
      for (bool ams : {false, true}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " wd mode " + std::to_string(wd) + (ams ? " amsgrad" : ""));
        ops::AdamHyper h;
        h.beta1 = 0.85;
        h.beta2 = 0.99;
        h.eps = 1e-6;
        h.weight_decay = wd ? 0.1 : 0;
        h.decoupled = wd == 2;
        h.decay = 1 - 0.01 * h.weight_decay;
        h.step_size = 0.01 / (1 - std::pow(h.beta1, 3));
        h.bias_correction2_sqrt = std::sqrt(1 - std::pow(h.beta2, 3));
        h.amsgrad = ams;
        Tensor p = rnd(kShape, t), g = rnd(kShape, t), m = rnd(kShape, t), v = rnd(kShape, t, true);
        Tensor vmax = ams ? rnd(kShape, t, true) : Tensor();
        Vec P = test::values(p), M = test::values(m), V = test::values(v), VM = ams ? test::values(vmax) : Vec();
        adam_ref(P, test::values(g), M, V, VM, h);
        ops::adam_step(p, g, m, v, vmax, h);
        const double tol = tolerance(t);
        test::expect_values(p, P, tol);
        test::expect_values(m, M, tol);
        test::expect_values(v, V, tol);
        if (ams) test::expect_values(vmax, VM, tol);
      }
}

TEST_P(FusedCase, SgdMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : kAllFloat)
    for (int mom = 0; mom < 3; ++mom)
      for (bool wd : {false, true})
        for (bool nesterov : {false, true}) {
          if (nesterov && mom == 0) continue;
          SCOPED_TRACE(std::string(dtype_name(t)) + " momentum mode " + std::to_string(mom) + (wd ? " wd" : "") +
                       (nesterov ? " nesterov" : ""));
          ops::SgdHyper h;
          h.lr = 0.05;
          h.momentum = mom ? 0.9 : 0;
          h.dampening = nesterov ? 0 : 0.1;
          h.weight_decay = wd ? 0.01 : 0;
          h.nesterov = nesterov;
          h.first_step = mom == 1;
          Tensor p = rnd(kShape, t), g = rnd(kShape, t), buf = mom ? rnd(kShape, t) : Tensor();
          Vec P = test::values(p), B = mom ? test::values(buf) : Vec();
          sgd_ref(P, test::values(g), B, h);
          ops::sgd_step(p, g, buf, h);
          test::expect_values(p, P, tolerance(t));
          if (mom) test::expect_values(buf, B, tolerance(t));
        }
}

TEST_P(FusedCase, RmspropMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : kAllFloat)
    for (bool centered : {false, true})
      for (bool momentum : {false, true})
        for (bool wd : {false, true}) {
          SCOPED_TRACE(std::string(dtype_name(t)) + (centered ? " centered" : "") + (momentum ? " momentum" : "") +
                       (wd ? " wd" : ""));
          ops::RmspropHyper h;
          h.lr = 0.01;
          h.alpha = 0.9;
          h.eps = 1e-6;
          h.weight_decay = wd ? 0.1 : 0;
          h.momentum = momentum ? 0.5 : 0;
          h.centered = centered;
          Tensor p = rnd(kShape, t), g = rnd(kShape, t), sq = rnd(kShape, t, true);
          // Centered needs sq >= gavg^2 after the update: keep the running mean small.
          Tensor gavg = centered ? (rnd(kShape, kFloat64) * 0.01).to(t) : Tensor();
          Tensor buf = momentum ? rnd(kShape, t) : Tensor();
          Vec P = test::values(p), S = test::values(sq), GA = centered ? test::values(gavg) : Vec(),
              B = momentum ? test::values(buf) : Vec();
          rmsprop_ref(P, test::values(g), S, GA, B, h);
          ops::rmsprop_step(p, g, sq, gavg, buf, h);
          test::expect_values(p, P, tolerance(t));
          test::expect_values(sq, S, tolerance(t));
          if (centered) test::expect_values(gavg, GA, tolerance(t));
          if (momentum) test::expect_values(buf, B, tolerance(t));
        }
}

TEST_P(FusedCase, AdagradMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : kAllFloat)
    for (bool wd : {false, true}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + (wd ? " wd" : ""));
      ops::AdagradHyper h;
      h.clr = 0.1 / (1 + 2 * 0.01);
      h.eps = 1e-10;
      h.weight_decay = wd ? 0.1 : 0;
      Tensor p = rnd(kShape, t), g = rnd(kShape, t), sum = rnd(kShape, t, true);
      Vec P = test::values(p), S = test::values(sum);
      adagrad_ref(P, test::values(g), S, h);
      ops::adagrad_step(p, g, sum, h);
      test::expect_values(p, P, tolerance(t));
      test::expect_values(sum, S, tolerance(t));
    }
}

// Runs `update` twice on copies of the same tensors, fused and composed, and compares every tensor.
void expect_paths_agree(const std::vector<Tensor>& tensors, const std::function<void(std::vector<Tensor>&, OptimPath)>& update) {
  std::vector<Tensor> fused, composed;
  for (const Tensor& t : tensors) {
    fused.push_back(t.defined() ? t.clone() : Tensor());
    composed.push_back(t.defined() ? t.clone() : Tensor());
  }
  update(fused, OptimPath::Auto);
  update(composed, OptimPath::Composed);
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].defined()) test::expect_close(fused[i], composed[i], 1e-12, 1e-13);
}

TEST_P(FusedCase, FusedAndComposedPathsAgree) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor p = rnd(kShape, kFloat64), g = rnd(kShape, kFloat64), a = rnd(kShape, kFloat64, true),
         b = rnd(kShape, kFloat64, true), c = rnd(kShape, kFloat64, true);
  ops::AdamHyper ah;
  ah.weight_decay = 0.1;
  ah.step_size = 0.02;
  ah.bias_correction2_sqrt = 0.3;
  ah.amsgrad = true;
  expect_paths_agree({p, g, a, b, c}, [&](std::vector<Tensor>& t, OptimPath path) {
    ops::adam_step(t[0], t[1], t[2], t[3], t[4], ah, path);
  });
  ops::SgdHyper sh;
  sh.lr = 0.1;
  sh.momentum = 0.9;
  sh.nesterov = true;
  sh.weight_decay = 0.01;
  expect_paths_agree({p, g, a}, [&](std::vector<Tensor>& t, OptimPath path) { ops::sgd_step(t[0], t[1], t[2], sh, path); });
  ops::RmspropHyper rh;
  rh.momentum = 0.5;
  rh.centered = true;
  Tensor small = rnd(kShape, kFloat64) * 0.01;
  expect_paths_agree({p, g, a, small, c}, [&](std::vector<Tensor>& t, OptimPath path) {
    ops::rmsprop_step(t[0], t[1], t[2], t[3], t[4], rh, path);
  });
  ops::AdagradHyper gh;
  gh.clr = 0.1;
  gh.weight_decay = 0.1;
  expect_paths_agree({p, g, a}, [&](std::vector<Tensor>& t, OptimPath path) { ops::adagrad_step(t[0], t[1], t[2], gh, path); });
}

TEST_P(FusedCase, StridedInputsAndEdgeShapes) {
  KILN_SKIP_IF_NO_DEVICE();
  ops::AdagradHyper h;
  h.clr = 0.1;
  // A transposed gradient is made contiguous and fused; a transposed parameter takes the composed path.
  Tensor p = rnd({6, 5}, kFloat64), gt = rnd({5, 6}, kFloat64), sum = rnd({6, 5}, kFloat64, true);
  Tensor g = gt.t();
  EXPECT_TRUE(ops::fusable(p, {&sum}));
  Vec P = test::values(p), S = test::values(sum);
  adagrad_ref(P, test::values(g), S, h);
  ops::adagrad_step(p, g, sum, h);
  test::expect_values(p, P, 1e-12);
  Tensor pt = rnd({5, 6}, kFloat64).t(), sum2 = rnd({6, 5}, kFloat64, true);
  EXPECT_FALSE(ops::fusable(pt, {&sum2}));
  P = test::values(pt);
  S = test::values(sum2);
  adagrad_ref(P, test::values(g), S, h);
  ops::adagrad_step(pt, g, sum2, h);
  test::expect_values(pt, P, 1e-12);
  // Empty and 0-dim parameters.
  Tensor e = empty({0, 3}, opts(kFloat32)), es = empty({0, 3}, opts(kFloat32));
  EXPECT_NO_THROW(ops::adagrad_step(e, e, es, h));
  Tensor s0 = full({}, 2.0, opts(kFloat64)), g0 = full({}, 0.5, opts(kFloat64)), a0 = full({}, 1.0, opts(kFloat64));
  ops::adagrad_step(s0, g0, a0, h);
  test::expect_values(s0, {2.0 - 0.1 * 0.5 / (std::sqrt(1.25) + 1e-10)}, 1e-12);
  // A gradient of another dtype is cast to the parameter's.
  Tensor p32 = rnd({4}, kFloat32), g64 = rnd({4}, kFloat64), s32 = rnd({4}, kFloat32, true);
  P = test::values(p32);
  S = test::values(s32);
  adagrad_ref(P, test::values(g64.to(kFloat32)), S, h);
  ops::adagrad_step(p32, g64, s32, h);
  test::expect_values(p32, P, 2e-5);
}

TEST_P(FusedCase, NonFiniteValuesPropagate) {
  KILN_SKIP_IF_NO_DEVICE();
  ops::AdamHyper h;
  h.step_size = 0.1;
  h.amsgrad = true;
  Tensor p = zeros({3}, opts(kFloat32)), g = tensor(std::vector<float>{NAN, 1.f, INFINITY}, {3}, opts(kFloat32));
  Tensor m = zeros({3}, opts(kFloat32)), v = zeros({3}, opts(kFloat32)), vm = zeros({3}, opts(kFloat32));
  ops::adam_step(p, g, m, v, vm, h);
  Vec pv = test::values(p), vmv = test::values(vm);
  EXPECT_TRUE(std::isnan(pv[0]));
  EXPECT_TRUE(std::isnan(vmv[0])) << "the running max must keep a NaN, as torch.maximum does";
  EXPECT_TRUE(std::isfinite(pv[1]));
  EXPECT_TRUE(std::isnan(pv[2]));  // inf / inf
}

TEST_P(FusedCase, ArgumentErrors) {
  KILN_SKIP_IF_NO_DEVICE();
  ops::SgdHyper h;
  h.lr = 0.1;
  Tensor p = zeros({2, 3}, opts(kFloat32));
  try {
    ops::sgd_step(p, zeros({3, 2}, opts(kFloat32)), Tensor(), h);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3, 2]"), std::string::npos) << e.what();
  }
  Tensor ip = zeros({2}, opts(kInt64));
  EXPECT_THROW(ops::sgd_step(ip, ip, Tensor(), h), DTypeError);
  h.momentum = 0.9;
  EXPECT_THROW(ops::sgd_step(p, zeros({2, 3}, opts(kFloat32)), Tensor(), h), ValueError);  // no buffer
  if (dev().is_cuda()) {
    h.momentum = 0;
    EXPECT_THROW(ops::sgd_step(p, zeros({2, 3}, TensorOptions(kFloat32)), Tensor(), h), DeviceError);
  }
}

TEST_P(FusedCase, FusedKernelBumpsVersions) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor p = zeros({4}, opts(kFloat32)), g = ones({4}, opts(kFloat32));
  const uint32_t before = p._version();
  ops::SgdHyper h;
  h.lr = 0.1;
  ops::sgd_step(p, g, Tensor(), h);
  EXPECT_GT(p._version(), before) << "autograd must see the in-place write";
}

// Adam over a list (one multi-tensor launch per 32 pieces on CUDA) gives exactly what adam_step gives per
// parameter: the same functor on the same elements. The list has more pieces than one launch carries, tensors
// longer than one block's chunk, empty ones, one the fused kernel cannot take (transposed) and a gradient in
// another layout.
TEST_P(FusedCase, AdamOverAListMatchesOneByOne) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    for (int variant = 0; variant < 3; ++variant) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " variant " + std::to_string(variant));
      ops::AdamHyper h;
      h.step_size = 1e-2, h.bias_correction2_sqrt = 0.3;
      h.weight_decay = variant == 0 ? 0 : 0.1;
      h.decoupled = variant == 2, h.decay = 0.999;
      h.amsgrad = variant == 1;
      auto [mine, theirs] = awkward_lists(dt, 3, 0b110);  // exp_avg, and the non-negative exp_avg_sq, max
      ops::adam_step_many(mine, h);
      for (const ops::OptimTensors& t : theirs) ops::adam_step(t.param, t.grad, t.state[0], t.state[1], t.state[2], h);
      for (size_t i = 0; i < mine.size(); ++i) {
        SCOPED_TRACE("entry " + std::to_string(i));
        EXPECT_TRUE(mine[i].param.equal(theirs[i].param));
        EXPECT_TRUE(mine[i].state[0].equal(theirs[i].state[0]));
        EXPECT_TRUE(mine[i].state[1].equal(theirs[i].state[1]));
        if (h.amsgrad) EXPECT_TRUE(mine[i].state[2].equal(theirs[i].state[2]));
      }
    }
  }
}

// sgd_step_many against sgd_step one parameter at a time, over the same awkward list as Adam's.
TEST_P(FusedCase, SgdOverAListMatchesOneByOne) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    for (int variant = 0; variant < 4; ++variant) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " variant " + std::to_string(variant));
      ops::SgdHyper h;
      h.lr = 0.05;
      h.momentum = variant == 0 ? 0 : 0.9;
      h.weight_decay = variant == 2 ? 0.01 : 0;
      h.nesterov = variant == 3;
      h.dampening = variant == 2 ? 0.1 : 0;
      h.first_step = variant == 1;
      auto [mine, theirs] = awkward_lists(dt, h.momentum != 0 ? 1 : 0, 0);  // the momentum buffer
      ops::sgd_step_many(mine, h);
      for (const ops::OptimTensors& t : theirs) ops::sgd_step(t.param, t.grad, t.state[0], h);
      for (size_t i = 0; i < mine.size(); ++i) {
        SCOPED_TRACE("entry " + std::to_string(i));
        EXPECT_TRUE(mine[i].param.equal(theirs[i].param));
        if (h.momentum != 0) EXPECT_TRUE(mine[i].state[0].equal(theirs[i].state[0]));
      }
    }
  }
}

INSTANTIATE_DEVICE_TESTS(FusedCase);
}  // namespace
}  // namespace kiln
