// cross_entropy and nll_loss: class-index and probability targets, weights, ignore_index, label smoothing, errors.
#include <cmath>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/layers/loss.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;
using nn::Reduction;

class NNCrossEntropy : public DeviceTest {};

const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

Tensor index_tensor(const std::vector<int64_t>& v, const Shape& shape, Device dev) {
  return tensor(v, shape, TensorOptions(kInt64).device(dev));
}

// Reference for logits [N, C, D] (D = 1 for 2-D inputs) flattened row-major, targets [N, D].
struct CERef {
  std::vector<double> per;  // [N, D]
  double weight_sum = 0;
};
CERef ref_cross_entropy(const std::vector<double>& x, const std::vector<int64_t>& t, int64_t N, int64_t C, int64_t D,
                        const std::vector<double>& w, int64_t ignore, double ls, bool log_probs_given = false) {
  CERef r;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      auto at = [&](int64_t c) { return x[(n * C + c) * D + d]; };
      double m = -INFINITY, s = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, at(c));
      for (int64_t c = 0; c < C; ++c) s += std::exp(at(c) - m);
      auto logp = [&](int64_t c) { return log_probs_given ? at(c) : at(c) - m - std::log(s); };
      int64_t tc = t[n * D + d];
      if (tc == ignore) {
        r.per.push_back(0);
        continue;
      }
      double wt = w.empty() ? 1.0 : w[tc];
      double smooth = 0;
      for (int64_t c = 0; c < C; ++c) smooth -= (w.empty() ? 1.0 : w[c]) * logp(c);
      r.per.push_back((1 - ls) * -wt * logp(tc) + ls / static_cast<double>(C) * smooth);
      r.weight_sum += wt;
    }
  return r;
}

std::vector<double> reduce(const CERef& r, Reduction red) {
  if (red == Reduction::None) return r.per;
  double s = 0;
  for (double v : r.per) s += v;
  return {red == Reduction::Sum ? s : s / r.weight_sum};
}

TEST_P(NNCrossEntropy, IndexTargetsMatchHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t N = 6, C = 4;
  Tensor x = mul(rnd({N, C}, dev(), kFloat32, 1), 3.0);
  std::vector<int64_t> tv{0, 3, 1, -100, 2, 3};
  Tensor t = index_tensor(tv, {N}, dev());
  Tensor w = tensor(std::vector<float>{0.5f, 1.0f, 2.0f, 1.5f}, {C}, opts());
  for (Reduction r : kReductions)
    for (bool weighted : {false, true})
      for (double ls : {0.0, 0.2}) {
        SCOPED_TRACE(::testing::Message() << nn::reduction_name(r) << " weighted=" << weighted << " ls=" << ls);
        Tensor loss = F::cross_entropy(x, t, weighted ? w : Tensor(), -100, r, ls);
        auto ref = ref_cross_entropy(values(x), tv, N, C, 1, weighted ? values(w) : std::vector<double>{}, -100, ls);
        EXPECT_EQ(loss.sizes(), (r == Reduction::None ? Shape{N} : Shape{}));
        expect_values(loss, reduce(ref, r), 1e-5);
      }
  // The module form and nll_loss(log_softmax) agree.
  expect_close(nn::CrossEntropyLoss(w)(x, t), F::cross_entropy(x, t, w));
  expect_close(F::nll_loss(log_softmax(x, 1), t, w), F::cross_entropy(x, t, w), 1e-5, 1e-6);
}

TEST_P(NNCrossEntropy, MeanWithIgnoreIndexDividesByKeptTargets) {
  KILN_SKIP_IF_NO_DEVICE();
  // Uniform logits: every kept target costs log(C); the mean must not count ignored rows.
  Tensor x = zeros({4, 5}, opts(kFloat64));
  Tensor t = index_tensor({1, 7, 7, 4}, {4}, dev());
  EXPECT_NEAR(F::cross_entropy(x, t, Tensor(), /*ignore_index=*/7).item<double>(), std::log(5.0), 1e-12);
  EXPECT_NEAR(F::cross_entropy(x, t, Tensor(), 7, Reduction::Sum).item<double>(), 2 * std::log(5.0), 1e-12);
  // All ignored: 0 / 0 = NaN, as torch.
  EXPECT_TRUE(std::isnan(F::cross_entropy(x, index_tensor({7, 7, 7, 7}, {4}, dev()), Tensor(), 7).item<double>()));
}

TEST_P(NNCrossEntropy, SpatialAndSingleSampleInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t N = 2, C = 3, D = 4;
  Tensor x = rnd({N, C, D}, dev(), kFloat64, 2);
  std::vector<int64_t> tv{0, 1, 2, 1, 2, -100, 0, 0};
  Tensor t = index_tensor(tv, {N, D}, dev());
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    auto ref = ref_cross_entropy(values(x), tv, N, C, D, {}, -100, 0.1);
    Tensor loss = F::cross_entropy(x, t, Tensor(), -100, r, 0.1);
    EXPECT_EQ(loss.sizes(), (r == Reduction::None ? Shape{N, D} : Shape{}));
    expect_values(loss, reduce(ref, r), 1e-10);
  }
  // [C] input with a 0-dim target.
  Tensor x1 = rnd({5}, dev(), kFloat64, 3);
  Tensor t1 = scalar_tensor(2, TensorOptions(kInt64).device(dev()));
  auto ref = ref_cross_entropy(values(x1), {2}, 1, 5, 1, {}, -100, 0.0);
  Tensor none = F::cross_entropy(x1, t1, Tensor(), -100, Reduction::None);
  EXPECT_EQ(none.dim(), 0);
  expect_values(none, ref.per, 1e-12);
}

TEST_P(NNCrossEntropy, ProbabilityTargets) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t N = 3, C = 4;
  Tensor x = rnd({N, C}, dev(), kFloat64, 4);
  Tensor p = softmax(rnd({N, C}, dev(), kFloat64, 5), 1);
  Tensor w = tensor(std::vector<double>{1.0, 2.0, 0.5, 1.0}, {C}, opts(kFloat64));
  auto xv = values(x), pv = values(p), wv = values(w);
  for (double ls : {0.0, 0.3}) {
    std::vector<double> per;
    for (int64_t n = 0; n < N; ++n) {
      double m = -INFINITY, s = 0, l = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, xv[n * C + c]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(xv[n * C + c] - m);
      for (int64_t c = 0; c < C; ++c)
        l -= wv[c] * (pv[n * C + c] * (1 - ls) + ls / C) * (xv[n * C + c] - m - std::log(s));
      per.push_back(l);
    }
    double total = per[0] + per[1] + per[2];
    expect_values(F::cross_entropy(x, p, w, -100, Reduction::None, ls), per, 1e-10);
    expect_values(F::cross_entropy(x, p, w, -100, Reduction::Sum, ls), {total}, 1e-10);
    expect_values(F::cross_entropy(x, p, w, -100, Reduction::Mean, ls), {total / N}, 1e-10);
  }
  // One-hot probabilities equal class indices.
  Tensor idx = index_tensor({2, 0, 3}, {3}, dev());
  Tensor onehot = one_hot(idx, C).to(kFloat64);
  expect_close(F::cross_entropy(x, onehot), F::cross_entropy(x, idx), 1e-10, 1e-12);
}

TEST_P(NNCrossEntropy, GradcheckEveryReduction) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({4, 3}, dev(), kFloat64, 6));
  Tensor t = index_tensor({2, -100, 0, 1}, {4}, dev());
  Tensor w = leaf(tensor(std::vector<double>{0.7, 1.3, 2.0}, {3}, opts(kFloat64)));
  Tensor p = leaf(softmax(rnd({4, 3}, dev(), kFloat64, 7), 1));
  Tensor xs = leaf(rnd({2, 3, 2}, dev(), kFloat64, 8));
  Tensor ts = index_tensor({0, 2, 1, 1}, {2, 2}, dev());
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    expect_gradcheck([&](const autograd::TensorList& a) { return F::cross_entropy(a[0], t, Tensor(), -100, r); }, {x});
    expect_gradcheck([&](const autograd::TensorList& a) { return F::cross_entropy(a[0], t, a[1], -100, r, 0.1); },
                     {x, w});
    expect_gradcheck([&](const autograd::TensorList& a) { return F::cross_entropy(a[0], a[1], a[2], -100, r, 0.2); },
                     {x, p, w});
    expect_gradcheck([&](const autograd::TensorList& a) { return F::cross_entropy(a[0], ts, Tensor(), -100, r); },
                     {xs});
    expect_gradcheck([&](const autograd::TensorList& a) { return F::nll_loss(a[0], t, a[1], -100, r); }, {x, w});
  }
}

// [N, C] scores with class indices take the fused kernels; a class weight that requires grad sends the same call
// through the composite (log_softmax, gather, weighted mean), the independent reference here.
TEST_P(NNCrossEntropy, FusedKernelsMatchTheComposite) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t N = 9, C = 37;  // C > 32: the vector row path on the CPU, several lanes per row on CUDA
  std::vector<int64_t> tv{3, -100, 0, 36, 5, 5, -100, 12, 1};
  Tensor t = index_tensor(tv, {N}, dev());
  for (DType dt : {kFloat64, kFloat32}) {
    const double tol = dt == kFloat64 ? 1e-12 : 2e-5;
    Tensor w = add(rnd({C}, dev(), dt, 11), 1.5);
    for (bool weighted : {false, true})
      for (double ls : {0.0, 0.15})
        for (Reduction r : kReductions) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + (weighted ? " weighted " : " ") + nn::reduction_name(r) +
                       " ls " + std::to_string(ls));
          Tensor x = mul(rnd({N, C}, dev(), dt, 12), 3.0);
          Tensor xf = leaf(x.clone()), xc = leaf(x.clone());
          Tensor wc = weighted ? w.clone().requires_grad_(true) : ones({C}, opts(dt)).requires_grad_(true);
          Tensor fused = F::cross_entropy(xf, t, weighted ? w : Tensor(), -100, r, ls);
          Tensor composite = F::cross_entropy(xc, t, wc, -100, r, ls);
          expect_close(fused, composite, tol, tol);
          Tensor g = rnd(fused.sizes(), dev(), dt, 13);
          autograd::backward({fused}, {g});
          autograd::backward({composite}, {g});
          expect_close(xf.grad(), xc.grad(), tol, tol);
        }
  }
}

TEST_P(NNCrossEntropy, FusedMeanOverNothingKeptIsNanWithAZeroGradient) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf(rnd({3, 4}, dev(), kFloat32, 14));
  Tensor loss = F::cross_entropy(x, index_tensor({-100, -100, -100}, {3}, dev()));
  EXPECT_TRUE(std::isnan(loss.item<double>()));
  loss.backward();
  expect_values(x.grad(), std::vector<double>(12, 0.0), 0);
  // An empty batch: NaN mean, zero sum, an empty per-row loss.
  Tensor e = zeros({0, 4}, opts(kFloat32));
  Tensor none = index_tensor({}, {0}, dev());
  EXPECT_TRUE(std::isnan(F::cross_entropy(e, none).item<double>()));
  EXPECT_EQ(F::cross_entropy(e, none, Tensor(), -100, Reduction::Sum).item<double>(), 0.0);
  EXPECT_EQ(F::cross_entropy(e, none, Tensor(), -100, Reduction::None).numel(), 0);
}

// Double backward (create_graph) builds the fused gradient from differentiable ops: it equals the kernel's, and
// its own gradient passes gradcheck.
TEST_P(NNCrossEntropy, FusedGradientCanBeDifferentiatedAgain) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor t = index_tensor({2, -100, 0, 1}, {4}, dev());
  Tensor w = tensor(std::vector<double>{0.7, 1.3, 2.0}, {3}, opts(kFloat64));
  Tensor x = leaf(rnd({4, 3}, dev(), kFloat64, 15));
  for (Reduction r : kReductions)
    for (double ls : {0.0, 0.2}) {
      SCOPED_TRACE(std::string(nn::reduction_name(r)) + " ls " + std::to_string(ls));
      // The first derivative as a graph, also under gradcheck's finite differences (which run in no-grad mode).
      auto first = [&](Tensor in, bool create) {
        AutoGradMode on(true);
        if (!in.requires_grad()) in = in.detach().requires_grad_(true);
        Tensor loss = F::cross_entropy(in, t, w, -100, r, ls);
        Tensor g = r == Reduction::None ? ones_like(loss) : Tensor();
        return autograd::grad({loss}, {in}, {g}, /*retain_graph=*/create, /*create_graph=*/create)[0];
      };
      expect_close(first(x, true), first(x, false), 1e-12, 1e-12);
      expect_gradcheck([&](const autograd::TensorList& a) { return first(a[0], true); }, {x});
    }
  // A scores vector with a 0-dim target.
  Tensor v = leaf(rnd({5}, dev(), kFloat64, 16));
  expect_gradcheck([&](const autograd::TensorList& a) { return F::cross_entropy(a[0], index_tensor({3}, {}, dev())); },
                   {v});
}

TEST_P(NNCrossEntropy, NllLossMatchesHostReference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor logp = rnd({5, 3}, dev(), kFloat64, 9);  // nll_loss does not require normalised input
  std::vector<int64_t> tv{2, 0, 1, 1, 0};
  Tensor t = index_tensor(tv, {5}, dev());
  Tensor w = tensor(std::vector<double>{2.0, 1.0, 0.5}, {3}, opts(kFloat64));
  for (Reduction r : kReductions) {
    SCOPED_TRACE(nn::reduction_name(r));
    auto ref = ref_cross_entropy(values(logp), tv, 5, 3, 1, values(w), 1, 0.0, /*log_probs_given=*/true);
    expect_values(F::nll_loss(logp, t, w, /*ignore_index=*/1, r), reduce(ref, r), 1e-12);
    expect_close(nn::NLLLoss(w, 1, r)(logp, t), F::nll_loss(logp, t, w, 1, r));
  }
  // int32 targets are accepted.
  expect_close(F::nll_loss(logp, t.to(kInt32)), F::nll_loss(logp, t));
}

TEST_P(NNCrossEntropy, Errors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = zeros({4, 3}, opts());
  // A bad target is raised by the op on the CPU and at the next host wait on CUDA (no wait in the step).
  auto raised = [&](const Tensor& target, bool nll) {
    nll ? F::nll_loss(x, target) : F::cross_entropy(x, target);
    test::wait_for(dev());
  };
  EXPECT_THROW_WITH(raised(index_tensor({0, 1, 5, 2}, {4}, dev()), false), IndexError, "target 5", "3 classes");
  EXPECT_THROW_WITH(raised(index_tensor({0, -1, 2, 2}, {4}, dev()), false), IndexError, "target -1");
  EXPECT_THROW_WITH(raised(index_tensor({0, 1, 3, 2}, {4}, dev()), true), IndexError, "target 3");
  EXPECT_THROW_WITH(F::cross_entropy(x, index_tensor({0, 1, 2}, {3}, dev())), ShapeError, "[3]", "[4, 3]");
  EXPECT_THROW_WITH(F::cross_entropy(x, zeros({4}, opts())), DTypeError, "int64");
  EXPECT_THROW_WITH(F::cross_entropy(x, zeros({4, 2}, opts())), ShapeError, "[4, 2]", "[4, 3]");
  EXPECT_THROW_WITH(F::cross_entropy(x, zeros({4}, opts(kBool))), DTypeError, "bool");
  EXPECT_THROW_WITH(F::cross_entropy(x, index_tensor({0, 1, 2, 2}, {4}, dev()), zeros({2}, opts())), ShapeError,
                    "[2]", "3 classes");
  EXPECT_THROW_WITH(F::cross_entropy(x, index_tensor({0, 1, 2, 2}, {4}, dev()), Tensor(), -100, "mean", 1.5),
                    ValueError, "label_smoothing");
  EXPECT_THROW_WITH(F::cross_entropy(zeros({4, 3}, opts(kInt64)), index_tensor({0, 1, 2, 2}, {4}, dev())), DTypeError,
                    "floating");
}

TEST_P(NNCrossEntropy, HalfPrecisionInput) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = mul(rnd({8, 10}, dev(), kFloat32, 10), 2.0);
  Tensor t = index_tensor({0, 1, 2, 3, 4, 5, 6, 9}, {8}, dev());
  double ref = F::cross_entropy(x.to(kFloat64), t).item<double>();
  for (DType dt : {kFloat16, kBFloat16}) {
    Tensor l = F::cross_entropy(x.to(dt), t);
    EXPECT_EQ(l.dtype(), dt);
    EXPECT_NEAR(l.item<double>(), ref, 3e-2 * (1 + ref));
  }
}

INSTANTIATE_DEVICE_TESTS(NNCrossEntropy);
}  // namespace
}  // namespace kiln::test
