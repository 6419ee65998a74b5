// Host float64 references for the pointwise tests: broadcasting written as plain index loops, independent
// of the library's iterator, plus a fixture with seeded random inputs.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"
#include "kiln/tensor/tensor.h"
#include "test_device.h"

namespace kiln::test {

/// d/dx sum(f(x)^2) built as a differentiable graph, for checking double backward with gradcheck. gradcheck
/// evaluates its finite differences under no_grad on fresh tensors, so grad is re-enabled here.
inline Tensor first_derivative(const std::function<Tensor(const Tensor&)>& f, const Tensor& in) {
  AutoGradMode on(true);
  Tensor x = in;
  if (!x.requires_grad()) {
    x = x.detach();
    x.requires_grad_(true);
  }
  Tensor y = f(x);
  return autograd::grad({sum(mul(y, y))}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
}

/// Row-major index of output element `linear` (of shape out) in an input of shape in, broadcast from the right.
inline int64_t broadcast_index(int64_t linear, const Shape& out, const Shape& in) {
  int64_t idx = 0, mult = 1;
  int64_t off = static_cast<int64_t>(out.size()) - static_cast<int64_t>(in.size());
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    int64_t i = linear % out[d];
    linear /= out[d];
    int64_t id = d - off;
    if (id < 0) continue;
    if (in[id] != 1) idx += i * mult;
    mult *= in[id];
  }
  return idx;
}

inline Shape ref_broadcast(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// f applied elementwise over the broadcast of a and b, in float64 on the host.
inline std::vector<double> ref_binary(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f,
                                      Shape* out_shape = nullptr) {
  Shape out = ref_broadcast(a.sizes(), b.sizes());
  if (out_shape) *out_shape = out;
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> r(static_cast<size_t>(shape_numel(out)));
  for (int64_t i = 0; i < static_cast<int64_t>(r.size()); ++i)
    r[i] = f(va[broadcast_index(i, out, a.sizes())], vb[broadcast_index(i, out, b.sizes())]);
  return r;
}

inline std::vector<double> ref_unary(const Tensor& a, const std::function<double(double)>& f) {
  auto v = a.to_vector<double>();
  for (double& x : v) x = f(x);
  return v;
}

/// Same shape, and each element within atol + rtol*|e| of the reference (NaN matches NaN, inf matches inf).
inline void expect_ref(const Tensor& actual, const Shape& shape, const std::vector<double>& expected,
                       double rtol = 1e-6, double atol = 1e-6) {
  ASSERT_EQ(actual.sizes(), shape) << "got shape " << actual.shape_str() << ", expected " << shape_to_string(shape);
  auto a = actual.to_vector<double>();
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i) {
    double e = expected[i];
    if (std::isnan(e)) {
      EXPECT_TRUE(std::isnan(a[i])) << "element " << i << ": expected nan, got " << a[i];
    } else if (std::isinf(e)) {
      EXPECT_EQ(a[i], e) << "element " << i;
    } else {
      EXPECT_NEAR(a[i], e, atol + rtol * std::fabs(e)) << "element " << i;
    }
  }
}

/// Tolerances for a dtype: 16-bit types compute in float but store with 8 (bf16) or 11 (f16) bits.
inline double rtol_for(DType t) {
  switch (t) {
    case kFloat16:
      return 2e-3;
    case kBFloat16:
      return 1.6e-2;
    case kFloat32:
      return 2e-6;
    default:
      return 1e-12;
  }
}

/// Values of t rounded through dtype (what a 16-bit input really holds), as float64.
inline Tensor exact_f64(const Tensor& t) { return t.to(kFloat64); }

class PointwiseTest : public DeviceTest {
 protected:
  Tensor rnd(const Shape& s, DType t = kFloat32) { return randn(s, opts(kFloat32), &gen_).to(t); }
  /// Uniform on [lo, hi) in dtype t.
  Tensor uni(const Shape& s, double lo, double hi, DType t = kFloat32) {
    Tensor u = rand(s, opts(kFloat64), &gen_);
    return add(mul(u, hi - lo), lo).to(t);
  }
  /// A float64 leaf requiring grad, for gradcheck.
  Tensor leaf(const Shape& s, double lo = -2, double hi = 2) {
    Tensor t = uni(s, lo, hi, kFloat64);
    t.requires_grad_(true);
    return t;
  }
  Tensor vals(const std::vector<double>& v, DType t = kFloat32) {
    return tensor(v, {static_cast<int64_t>(v.size())}, TensorOptions(kFloat64)).to(dev(), t);
  }
  Generator gen_{2024};
};

/// The shapes every binary test broadcasts over: equal, both-sided size-1 dims, rank growth, 0-dim, empty.
inline std::vector<std::pair<Shape, Shape>> binary_shapes() {
  return {{{3, 4}, {3, 4}}, {{3, 1}, {1, 4}}, {{4}, {2, 3, 4}},   {{}, {3}},
          {{2, 3}, {}},     {{0, 3}, {3}},    {{2, 1, 3}, {4, 1}}};
}
}  // namespace kiln::test
