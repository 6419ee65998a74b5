// cumsum and cumprod: float64 running sums and products computed on the host, torch's dtypes, every dim of a
// 3-d tensor, gradients (cumprod with zeros in the line, and double backward), CUDA against the CPU.
#include <vector>

#include "kiln/autograd/autograd.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/reduce.h"
#include "ops/test_pointwise_util.h"
#include "test_util.h"

namespace kiln {
namespace {
using test::expect_close;
using test::expect_ref;

// The running op along dim of a contiguous float64 host copy.
std::vector<double> ref_scan(const Tensor& t, int64_t dim, bool product) {
  std::vector<double> v = t.contiguous().to_vector<double>();
  int64_t outer = 1, K = t.size(dim), inner = 1;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d < dim) outer *= t.size(d);
    if (d > dim) inner *= t.size(d);
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double acc = product ? 1 : 0;
      for (int64_t k = 0; k < K; ++k) {
        double& x = v[static_cast<size_t>((o * K + k) * inner + i)];
        acc = product ? acc * x : acc + x;
        x = acc;
      }
    }
  return v;
}

class CumulativeTest : public test::PointwiseTest {};

TEST_P(CumulativeTest, ValuesMatchTheFloat64Reference) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = uni({3, 4, 5}, 0.5, 1.5, kFloat64);
  for (int64_t d = -3; d < 3; ++d) {
    SCOPED_TRACE(d);
    int64_t w = d < 0 ? d + 3 : d;
    expect_ref(cumsum(x, d), x.sizes(), ref_scan(x, w, false), 1e-12, 1e-12);
    expect_ref(x.cumprod(d), x.sizes(), ref_scan(x, w, true), 1e-12, 1e-12);
    expect_ref(cumsum(x.transpose(0, 2), d), {5, 4, 3}, ref_scan(x.transpose(0, 2), w, false), 1e-12, 1e-12);
  }
  Tensor s = scalar_tensor(2.5, opts(kFloat64));
  EXPECT_EQ(cumsum(s, 0).dim(), 0);
  EXPECT_DOUBLE_EQ(cumsum(s, -1).item<double>(), 2.5);
  EXPECT_EQ(cumsum(empty({0, 3}, opts()), 0).sizes(), (Shape{0, 3}));
  EXPECT_THROW(cumsum(x, 3), IndexError);
}

TEST_P(CumulativeTest, DTypesFollowTorch) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor i = vals({1, 2, 3, 4}).to(kInt32);
  Tensor c = cumsum(i, 0);
  EXPECT_EQ(c.dtype(), kInt64);  // integers accumulate in int64
  test::expect_values(c, {1, 3, 6, 10});
  test::expect_values(cumprod(i, 0), {1, 2, 6, 24});
  Tensor b = gt(vals({1, -1, 1}), 0);
  EXPECT_EQ(cumsum(b, 0).dtype(), kInt64);
  test::expect_values(cumsum(b, 0), {1, 1, 2});
  // 16-bit floats accumulate in float, as torch: rounding to half at every step would drift on 0.1 steps.
  Tensor h = full({1000}, 0.1, opts(kFloat16));
  Tensor hs = cumsum(h, 0);
  EXPECT_EQ(hs.dtype(), kFloat16);
  EXPECT_NEAR(hs.to_vector<double>().back(), 1000 * static_cast<double>(h.to_vector<double>()[0]), 0.5);
}

TEST_P(CumulativeTest, Gradients) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = leaf({3, 4}, -2, 2);
  for (int64_t d : {0, 1}) {
    EXPECT_TRUE(autograd::gradcheck([d](const autograd::TensorList& in) { return cumsum(in[0], d); }, {x}));
    EXPECT_TRUE(autograd::gradcheck([d](const autograd::TensorList& in) { return cumprod(in[0], d); }, {x}));
  }
  // Zeros in a line: one, two, and at the first and last positions. Finite differences are exact for a
  // product (it is linear in each element), so they check the zero-handling branches.
  Tensor z = tensor(std::vector<double>{1.5, 0, 2, -1, 0.5, 2, 0, 3, 0, -2, 0, 1, 0, 2, 3, 4, 1, 2, 3, 0}, {4, 5},
                    TensorOptions(kFloat64))
                 .to(dev());
  z.requires_grad_(true);
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return cumprod(in[0], 1); }, {z}));
  EXPECT_TRUE(autograd::gradcheck([](const autograd::TensorList& in) { return cumprod(in[0], 0); }, {z}));
  // Double backward through the composite gradients.
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::TensorList& in) { return test::first_derivative([](const Tensor& t) { return cumprod(t, 1); }, in[0]); },
      {x}));
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::TensorList& in) { return test::first_derivative([](const Tensor& t) { return cumsum(t, 0); }, in[0]); },
      {x}));
  EXPECT_EQ(cumsum(x, 0).grad_fn()->name(), "CumsumBackward0");
  EXPECT_EQ(cumprod(x, 0).grad_fn()->name(), "CumprodBackward0");
}

TEST_P(CumulativeTest, CudaMatchesCpu) {
  KILN_SKIP_IF_NO_DEVICE();
  if (!dev().is_cuda()) GTEST_SKIP() << "compares the CUDA kernels with the CPU";
  for (DType t : {kFloat32, kFloat64, kFloat16, kBFloat16, kInt64, kInt32}) {
    SCOPED_TRACE(dtype_name(t));
    Tensor x = uni({7, 300, 9}, 0.9, 1.1, kFloat64).to(t);
    for (int64_t d : {0, 1, 2}) {
      // One thread runs each line in the CPU's order: the same sums, bit for bit (products too).
      expect_close(cumsum(x, d).cpu().to(kFloat64), cumsum(x.cpu(), d).to(kFloat64), 0, 0);
      expect_close(cumprod(x, d).cpu().to(kFloat64), cumprod(x.cpu(), d).to(kFloat64), 1e-6, 0);
    }
  }
}

INSTANTIATE_DEVICE_TESTS(CumulativeTest);
}  // namespace
}  // namespace kiln
