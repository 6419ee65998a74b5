// The conv family's CUDA kernels (cuDNN convolutions, pooling, batch norm) against the CPU on fresh random inputs:
// forward and gradients, float32/float64, and f16/bf16 convolutions on tensor cores against float32 on the CPU.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "gpu_skip.h"
#include "kiln/autograd/autograd.h"
#include "kiln/nn/functional/conv.h"
#include "kiln/tensor/ops/creation.h"
#include "nn/nn_test_util.h"
#include "test_util.h"

namespace kiln::test {
namespace {
namespace F = nn::functional;
const Device kCpu("cpu"), kGpu("cuda");

// Runs fn on the CPU and the GPU with the same inputs (leaves copied to each device) and compares the outputs
// and the gradients of every input for the same upstream gradient.
void expect_cuda_matches_cpu(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                             const std::vector<Tensor>& inputs, double rtol, double atol, uint64_t seed = 99) {
  std::vector<Tensor> outs, grads[2];
  Tensor up;
  for (int d = 0; d < 2; ++d) {
    const Device dev = d ? kGpu : kCpu;
    std::vector<Tensor> in;
    for (const Tensor& t : inputs) in.push_back(leaf(t.to(dev)));
    Tensor y = fn(in);
    if (!up.defined()) up = rnd(y.sizes(), kCpu, y.dtype(), seed);
    outs.push_back(y.cpu());
    for (const Tensor& g : autograd::grad({y}, in, {up.to(dev)})) grads[d].push_back(g.cpu());
  }
  SCOPED_TRACE("forward");
  expect_close(outs[1], outs[0], rtol, atol);
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    expect_close(grads[1][i], grads[0][i], rtol, atol);
  }
}

struct ConvSetup {
  const char* name;
  Shape x, w;
  int64_t sh, sw, ph, pw, dh, dw, groups;
  bool same;
};
const std::vector<ConvSetup> kConvs = {
    {"cnn_block", {8, 16, 14, 14}, {32, 16, 3, 3}, 1, 1, 1, 1, 1, 1, 1, false},
    {"stride_pad", {3, 3, 11, 9}, {5, 3, 3, 2}, 2, 1, 1, 2, 1, 1, 1, false},
    {"dilation", {2, 4, 13, 12}, {6, 4, 3, 3}, 1, 2, 2, 1, 2, 3, 1, false},
    {"groups", {2, 8, 9, 9}, {12, 2, 3, 3}, 1, 1, 1, 1, 1, 1, 4, false},
    {"depthwise", {2, 6, 10, 10}, {6, 1, 3, 3}, 2, 2, 1, 1, 1, 1, 6, false},
    {"same_even_kernel", {2, 3, 8, 7}, {4, 3, 2, 4}, 1, 1, 0, 0, 1, 1, 1, true},  // asymmetric padding
};

Tensor conv(const ConvSetup& c, const std::vector<Tensor>& a) {
  if (c.same) return F::conv2d(a[0], a[1], a[2], 1, "same", {c.dh, c.dw}, c.groups);
  return F::conv2d(a[0], a[1], a[2], {c.sh, c.sw}, nn::ConvPadding<2>({c.ph, c.pw}), {c.dh, c.dw}, c.groups);
}

TEST(ConvFamilyCUDA, Conv2dMatchesCpuFloat32AndFloat64) {
  KILN_SKIP_WITHOUT_GPU();
  for (DType dt : {kFloat32, kFloat64}) {
    for (const ConvSetup& c : kConvs) {
      SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt));
      std::vector<Tensor> in = {rnd(c.x, kCpu, dt, 1), rnd(c.w, kCpu, dt, 2), rnd({c.w[0]}, kCpu, dt, 3)};
      const double tol = dt == kFloat32 ? 1e-4 : 1e-10;
      expect_cuda_matches_cpu([&](const std::vector<Tensor>& a) { return conv(c, a); }, in, tol, tol);
    }
  }
}

// f16/bf16 on tensor cores: the GPU result against float32 on the CPU from the same (rounded) inputs, within the
// low-precision output's rounding.
TEST(ConvFamilyCUDA, Conv2dHalfPrecisionMatchesCpuFloat32) {
  KILN_SKIP_WITHOUT_GPU();
  for (DType dt : {kFloat16, kBFloat16}) {
    for (const ConvSetup& c : kConvs) {
      SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dt));
      Tensor x = rnd(c.x, kCpu, dt, 1), w = rnd(c.w, kCpu, dt, 2), b = rnd({c.w[0]}, kCpu, dt, 3);
      Tensor ref = conv(c, {x.to(kFloat32), w.to(kFloat32), b.to(kFloat32)});
      Tensor y = conv(c, {x.to(kGpu), w.to(kGpu), b.to(kGpu)});
      EXPECT_EQ(y.dtype(), dt);
      const double tol = dt == kFloat16 ? 1e-2 : 4e-2;
      expect_close(y.cpu().to(kFloat32), ref, tol, tol);
    }
  }
}

TEST(ConvFamilyCUDA, PoolingMatchesCpu) {
  KILN_SKIP_WITHOUT_GPU();
  for (DType dt : {kFloat32, kFloat64}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<Tensor> in = {rnd({4, 5, 13, 11}, kCpu, dt, 7)};
    const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
    auto check = [&](const char* what, const std::function<Tensor(const std::vector<Tensor>&)>& fn) {
      SCOPED_TRACE(what);
      expect_cuda_matches_cpu(fn, in, tol, tol);
    };
    check("max 2x2", [](const std::vector<Tensor>& a) { return F::max_pool2d(a[0], 2); });
    check("max overlapping, padded, dilated, ceil", [](const std::vector<Tensor>& a) {
      return F::max_pool2d(a[0], {3, 2}, {2, 1}, {1, 1}, {1, 2}, true);
    });
    check("avg padded", [](const std::vector<Tensor>& a) { return F::avg_pool2d(a[0], 3, 2, 1); });
    check("avg without the padding's count, ceil", [](const std::vector<Tensor>& a) {
      return F::avg_pool2d(a[0], {3, 2}, {2, 2}, {1, 1}, true, false);
    });
    check("adaptive 5x3", [](const std::vector<Tensor>& a) { return F::adaptive_avg_pool2d(a[0], {5, 3}); });
    check("adaptive 1x1", [](const std::vector<Tensor>& a) { return F::adaptive_avg_pool2d(a[0], 1); });
    // The indices are the same flat in-plane positions.
    Tensor x = in[0];
    auto [y_cpu, i_cpu] = F::max_pool2d_with_indices(x, 3, 2, 1);
    auto [y_gpu, i_gpu] = F::max_pool2d_with_indices(x.to(kGpu), 3, 2, 1);
    EXPECT_EQ(values(i_gpu.cpu()), values(i_cpu));
  }
}

TEST(ConvFamilyCUDA, BatchNormMatchesCpuInTrainingAndEval) {
  KILN_SKIP_WITHOUT_GPU();
  for (DType dt : {kFloat32, kFloat64}) {
    for (bool training : {true, false}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + (training ? " training" : " eval"));
      const double tol = dt == kFloat32 ? 1e-4 : 1e-10;
      Tensor rm = rnd({6}, kCpu, dt, 4), rv = rnd({6}, kCpu, dt, 5).abs().add(Scalar(0.5));
      Tensor rm_gpu = rm.to(kGpu), rv_gpu = rv.to(kGpu);
      std::vector<Tensor> in = {rnd({5, 6, 7, 3}, kCpu, dt, 1), rnd({6}, kCpu, dt, 2), rnd({6}, kCpu, dt, 3)};
      expect_cuda_matches_cpu(
          [&](const std::vector<Tensor>& a) {
            const bool gpu = a[0].device().is_cuda();
            return F::batch_norm(a[0], gpu ? rm_gpu : rm, gpu ? rv_gpu : rv, a[1], a[2], training, 0.1, 1e-5);
          },
          in, tol, tol);
      SCOPED_TRACE("running statistics");
      expect_close(rm_gpu.cpu(), rm, tol, tol);
      expect_close(rv_gpu.cpu(), rv, tol, tol);
    }
  }
  // [N, C] input (S = 1) without affine parameters.
  std::vector<Tensor> in = {rnd({9, 4}, kCpu, kFloat64, 8)};
  expect_cuda_matches_cpu(
      [](const std::vector<Tensor>& a) { return F::batch_norm(a[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
      in, 1e-10, 1e-10);
}
}  // namespace
}  // namespace kiln::test
