// Host float64 references for the reduce tests: elements grouped by output position, plus the reductions
// written as plain loops (independent of the library's kernels).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"

namespace kiln::test {

/// The input's elements grouped by output position (row-major over the kept dims); inside a group the
/// elements keep their row-major order. An empty dims list reduces every dim.
inline std::vector<std::vector<double>> reduce_groups(const Tensor& t, Shape dims) {
  std::vector<double> v = t.to_vector<double>();
  Shape shape = t.sizes();
  int64_t nd = t.dim();
  std::vector<bool> red(static_cast<size_t>(nd), dims.empty());
  for (int64_t d : dims)
    if (nd > 0) red[d < 0 ? d + nd : d] = true;
  int64_t groups = 1;
  for (int64_t d = 0; d < nd; ++d)
    if (!red[d]) groups *= shape[d];
  std::vector<std::vector<double>> out(static_cast<size_t>(groups));
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t rem = static_cast<int64_t>(i), g = 0, mult = 1;
    for (int64_t d = nd - 1; d >= 0; --d) {
      int64_t idx = rem % shape[d];
      rem /= shape[d];
      if (!red[d]) {
        g += idx * mult;
        mult *= shape[d];
      }
    }
    out[g].push_back(v[i]);
  }
  return out;
}

/// Applies f to every group: the reference result in output order.
inline std::vector<double> reduce_ref(const Tensor& t, const Shape& dims,
                                      const std::function<double(const std::vector<double>&)>& f) {
  std::vector<double> r;
  for (const auto& g : reduce_groups(t, dims)) r.push_back(f(g));
  return r;
}

inline double ref_sum(const std::vector<double>& g) {
  double s = 0;
  for (double x : g) s += x;
  return s;
}
inline double ref_mean(const std::vector<double>& g) { return ref_sum(g) / static_cast<double>(g.size()); }
inline double ref_prod(const std::vector<double>& g) {
  double s = 1;
  for (double x : g) s *= x;
  return s;
}
inline double ref_max(const std::vector<double>& g) {
  double m = -INFINITY;
  for (double x : g) {
    if (std::isnan(x)) return x;
    m = std::max(m, x);
  }
  return m;
}
inline double ref_min(const std::vector<double>& g) {
  double m = INFINITY;
  for (double x : g) {
    if (std::isnan(x)) return x;
    m = std::min(m, x);
  }
  return m;
}
/// Index of the first maximum (or first NaN).
inline double ref_argmax(const std::vector<double>& g) {
  size_t best = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i])) return static_cast<double>(i);
    if (g[i] > g[best]) best = i;
  }
  return static_cast<double>(best);
}
inline double ref_argmin(const std::vector<double>& g) {
  size_t best = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i])) return static_cast<double>(i);
    if (g[i] < g[best]) best = i;
  }
  return static_cast<double>(best);
}
/// Two-pass variance in double.
inline double ref_var(const std::vector<double>& g, double correction) {
  double m = ref_mean(g), s = 0;
  for (double x : g) s += (x - m) * (x - m);
  return s / std::max(0.0, static_cast<double>(g.size()) - correction);
}
inline double ref_norm(const std::vector<double>& g, double p) {
  if (std::isinf(p)) {
    double m = p > 0 ? 0 : INFINITY;
    for (double x : g) m = p > 0 ? std::max(m, std::fabs(x)) : std::min(m, std::fabs(x));
    return m;
  }
  double s = 0;
  for (double x : g) s += p == 0 ? (x != 0) : std::pow(std::fabs(x), p);
  return p == 0 ? s : std::pow(s, 1.0 / p);
}
inline double ref_logsumexp(const std::vector<double>& g) {
  double m = -INFINITY;
  for (double x : g) m = std::max(m, x);
  if (std::isinf(m)) return m;
  double s = 0;
  for (double x : g) s += std::exp(x - m);
  return m + std::log(s);
}

/// Shape with the dims in `dims` removed (keepdim=false) or set to 1 (keepdim=true).
inline Shape reduced_shape(const Shape& shape, Shape dims, bool keepdim) {
  int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<bool> red(static_cast<size_t>(nd), dims.empty());
  for (int64_t d : dims) red[d < 0 ? d + nd : d] = true;
  Shape out;
  for (int64_t d = 0; d < nd; ++d) {
    if (!red[d]) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

/// Checks shape and values of a reduction result against a reference list.
inline void expect_reduced(const Tensor& actual, const Shape& shape, const std::vector<double>& expected,
                           double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(actual.sizes(), shape) << "got " << actual.shape_str();
  auto a = actual.to_vector<double>();
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(a[i])) << "element " << i << ": expected nan, got " << a[i];
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(a[i], expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(a[i], expected[i], atol + rtol * std::fabs(expected[i])) << "element " << i;
    }
  }
}

/// gradcheck of the gradient itself: d/dx <grad_x sum(w * f(x)), v> for fixed random w and v, which
/// exercises the backward built under create_graph.
inline bool gradgradcheck(const std::function<Tensor(const Tensor&)>& f, const Tensor& x0, uint64_t seed = 5) {
  Generator gen(seed);
  TensorOptions o = TensorOptions(kFloat64).device(x0.device());
  Tensor w, v = randn(x0.sizes(), o, &gen);
  {
    NoGradGuard no_grad;
    w = randn(f(x0).sizes(), o, &gen);
  }
  auto fn = [&](const autograd::TensorList& x) {
    // gradcheck's finite differences call this under no_grad with plain inputs: make a leaf then.
    AutoGradMode grad_on(true);
    Tensor xi = x[0];
    if (!xi.requires_grad()) xi = x[0].detach().requires_grad_(true);
    Tensor gx = autograd::grad({sum(mul(f(xi), w))}, {xi}, {}, true, true)[0];
    return sum(mul(gx, v));
  };
  return autograd::gradcheck(fn, {x0});
}
}  // namespace kiln::test
