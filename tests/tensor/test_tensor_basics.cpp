// Tensor creation, views, copies across dtypes and devices, printing and random streams.
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

using namespace kiln;
using kiln::test::expect_values;

class TensorBasics : public kiln::test::DeviceTest {};
INSTANTIATE_DEVICE_TESTS(TensorBasics);

TEST_P(TensorBasics, FactoriesFillEveryDtype) {
  KILN_SKIP_IF_NO_DEVICE();
  for (DType t : {kBool, kUInt8, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64}) {
    Tensor z = zeros({2, 3}, opts(t));
    EXPECT_EQ(z.dtype(), t);
    EXPECT_EQ(z.device().type(), dev().type());
    expect_values(z, std::vector<double>(6, 0.0));
    expect_values(ones({4}, opts(t)), std::vector<double>(4, 1.0));
    if (t != kBool) expect_values(full({3}, 7, opts(t)), {7, 7, 7});
  }
}

TEST_P(TensorBasics, ArangeLinspaceEye) {
  KILN_SKIP_IF_NO_DEVICE();
  expect_values(arange(5, opts(kInt64)), {0, 1, 2, 3, 4});
  expect_values(arange(1.0, 2.0, 0.25, opts()), {1.0, 1.25, 1.5, 1.75});
  expect_values(linspace(0, 1, 5, opts(kFloat64)), {0, 0.25, 0.5, 0.75, 1.0});
  expect_values(linspace(2, 5, 1, opts(kFloat64)), {2});  // one step is start, as torch
  EXPECT_EQ(linspace(2, 5, 0, opts()).numel(), 0);
  expect_values(eye(2, 3, opts()), {1, 0, 0, 0, 1, 0});
  EXPECT_THROW(arange(0, 5, -1, opts()), ValueError);
  EXPECT_EQ(arange(0, opts()).numel(), 0);
}

TEST_P(TensorBasics, RandomStreamsAreSeededAndDeviceIndependent) {
  KILN_SKIP_IF_NO_DEVICE();
  Generator g1(42), g2(42);
  Tensor a = randn({1000}, opts(kFloat64), &g1);
  Tensor b = randn({1000}, TensorOptions(kFloat64), &g2);  // CPU reference from the same state
  // Identical bits on every device, not only close (src/ops/random/exact_math.h).
  EXPECT_EQ(kiln::test::values(a), kiln::test::values(b));
  Generator g3(7), g4(7);
  EXPECT_EQ(kiln::test::values(randn({257}, opts(kFloat32), &g3)),
            kiln::test::values(randn({257}, TensorOptions(kFloat32), &g4)));
  EXPECT_EQ(kiln::test::values(rand({257}, opts(kFloat64), &g3)),
            kiln::test::values(rand({257}, TensorOptions(kFloat64), &g4)));
  auto v = kiln::test::values(a);
  double mean = 0, var = 0;
  for (double x : v) mean += x / v.size();
  for (double x : v) var += (x - mean) * (x - mean) / v.size();
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(var, 1.0, 0.15);
  Tensor u = rand({1000}, opts(), &g1);
  for (double x : kiln::test::values(u)) {
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
  Tensor r = randint(3, 7, {500}, opts(kInt64), &g1);
  EXPECT_EQ(r.dtype(), kInt64);
  for (double x : kiln::test::values(r)) {
    EXPECT_GE(x, 3);
    EXPECT_LT(x, 7);
  }
  Tensor p = randperm(50, opts(kInt64), &g1);
  auto pv = kiln::test::values(p);
  std::sort(pv.begin(), pv.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(pv[i], i);
}

TEST_P(TensorBasics, ViewsShareStorage) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = arange(12, opts(kFloat32)).view({3, 4});
  Tensor t = a.t();
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.sizes(), (Shape{4, 3}));
  expect_values(t.contiguous(), {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  expect_values(a.select(1, 2), {2, 6, 10});
  expect_values(a.narrow(0, 1, 2).select(1, 0), {4, 8});
  expect_values(a.slice(1, 0, 4, 2), {0, 2, 4, 6, 8, 10});
  expect_values(a.select(0, -1), {8, 9, 10, 11});
  EXPECT_EQ(a.unsqueeze(0).sizes(), (Shape{1, 3, 4}));
  EXPECT_EQ(a.unsqueeze(-1).sizes(), (Shape{3, 4, 1}));
  EXPECT_EQ(a.unsqueeze(0).squeeze().sizes(), (Shape{3, 4}));
  EXPECT_EQ(a.reshape({2, -1}).sizes(), (Shape{2, 6}));
  EXPECT_EQ(a.permute({1, 0}).sizes(), (Shape{4, 3}));
  Tensor e = arange(3, opts()).view({3, 1}).expand({3, 4});
  expect_values(e.contiguous(), {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  Tensor v = a.view({12});
  v.fill_(1);
  expect_values(a.select(0, 0), {1, 1, 1, 1});  // writes through a view reach the base
  EXPECT_THROW(a.t().view({12}), ShapeError);  // incompatible strides: reshape copies instead
  expect_values(a.t().reshape({12}), std::vector<double>(12, 1));
  EXPECT_THROW(a.view({5, -1}), ShapeError);
  EXPECT_THROW(a.select(0, 3), IndexError);
  EXPECT_THROW(a.permute({0, 0}), ShapeError);
  EXPECT_THROW(a.expand({3, 5}), ShapeError);
  EXPECT_THROW(a.transpose(0, 2), IndexError);
}

TEST_P(TensorBasics, CopiesConvertDtypesAndCrossDevices) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor a = tensor(std::vector<double>{-1.5, 0.0, 2.25, 3.75}, {2, 2}).to(dev());
  expect_values(a.to(kInt32), {-1, 0, 2, 3});
  expect_values(a.to(kBool), {1, 0, 1, 1});
  expect_values(a.to(kFloat16), {-1.5, 0, 2.25, 3.75});
  expect_values(a.to(kBFloat16), {-1.5, 0, 2.25, 3.75});
  Tensor host = a.t().cpu();  // non-contiguous source crossing devices
  EXPECT_TRUE(host.is_cpu());
  expect_values(host, {-1.5, 2.25, 0.0, 3.75});
  Tensor dst = zeros({2, 2}, opts(kFloat64));
  Tensor dt = dst.t();
  dt.copy_(tensor(std::vector<float>{1, 2, 3, 4}, {2, 2}));  // cross-device into a strided view
  expect_values(dst, {1, 3, 2, 4});
  Tensor b = zeros({2, 3}, opts());
  b.copy_(tensor(std::vector<float>{5, 6, 7}).to(dev()));  // broadcast copy
  expect_values(b, {5, 6, 7, 5, 6, 7});
  EXPECT_EQ(a.to(dev()).impl(), a.impl());  // no-op conversion returns the same tensor
  EXPECT_NE(a.clone().impl(), a.impl());
}

// PyTorch's rule: a source that partially overlaps the destination is refused (elements would be read after
// being written, in an order that differs between CPU threads and GPU blocks); copy_ onto itself is a no-op.
TEST_P(TensorBasics, CopyRefusesPartiallyOverlappingSource) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = arange(0, 8, 1, opts(kFloat32));
  try {
    Tensor dst = x.slice(0, 1, 8);
    dst.copy_(x.slice(0, 0, 7));
    FAIL() << "a partially overlapping copy_ ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refer to a single memory location"), std::string::npos) << e.what();
  }
  expect_values(x, {0, 1, 2, 3, 4, 5, 6, 7});  // untouched
  x.copy_(x);                                    // exact aliasing: allowed, nothing changes
  Tensor same = x.slice(0, 0, 8);
  same.copy_(x);
  expect_values(x, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor lo = x.slice(0, 0, 4);
  lo.copy_(x.slice(0, 4, 8));  // same storage, disjoint ranges: fine
  expect_values(x, {4, 5, 6, 7, 4, 5, 6, 7});
  Tensor even = x.slice(0, 0, 8, 2);
  even.copy_(x.slice(0, 1, 8, 2));  // interleaved views (no shared element): copied through a temporary
  expect_values(x, {5, 5, 7, 7, 5, 5, 7, 7});
  Tensor m = arange(0, 4, 1, opts(kFloat32)).reshape({2, 2});
  Tensor mt = m.t();
  EXPECT_THROW(mt.copy_(m), Error);  // transpose onto itself: torch refuses it too
  expect_values(m, {0, 1, 2, 3});
}

TEST_P(TensorBasics, EmptyAndZeroSizeTensors) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor e = empty({0, 3}, opts());
  EXPECT_EQ(e.numel(), 0);
  Tensor c = e.to(kFloat64).cpu();
  EXPECT_EQ(c.sizes(), (Shape{0, 3}));
  EXPECT_EQ(zeros({}, opts()).dim(), 0);
  EXPECT_EQ(zeros({}, opts()).item<float>(), 0.0f);
  EXPECT_THROW(zeros({2}, opts()).item<float>(), ShapeError);
  EXPECT_THROW(zeros({-1}, opts()), ShapeError);
}

// Sizes whose element or byte count overflows are refused with a ShapeError, never allocated short and
// overrun (zeros({1 << 62}) of float32 is 2^64 bytes, which wrapped to 0 and crashed).
TEST_P(TensorBasics, OverflowingSizesAreRefused) {
  KILN_SKIP_IF_NO_DEVICE();
  const int64_t huge = int64_t{1} << 62;
  EXPECT_THROW(zeros({huge}, opts()), ShapeError);
  EXPECT_THROW(empty({huge, 4}, opts(kUInt8)), ShapeError);
  EXPECT_THROW(empty({int64_t{1} << 32, int64_t{1} << 32}, opts(kUInt8)), ShapeError);
  EXPECT_THROW(shape_numel({huge, 8}), ShapeError);
  EXPECT_EQ(shape_numel({huge, 8, 0}), 0);  // an empty dim makes any shape empty
  Tensor t = zeros({4}, opts());
  EXPECT_THROW(t.reshape({-1, huge, 4}), ShapeError);
  EXPECT_THROW(t.view({huge, huge}), ShapeError);
  EXPECT_THROW(t.reshape({1, 1}).expand({huge, huge}), ShapeError);
  float buf[4] = {};
  EXPECT_THROW(from_blob(buf, {huge, 2}, TensorOptions(kFloat32)), ShapeError);
  EXPECT_THROW(from_blob(buf, {-2}, TensorOptions(kFloat32)), ShapeError);
}

// *_like keep the input's layout (PyTorch's preserve_format).
TEST_P(TensorBasics, LikeFactoriesPreserveTheLayout) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor t = zeros({3, 4}, opts()).t();  // [4, 3] with strides (1, 4)
  for (const Tensor& z : {zeros_like(t), empty_like(t), ones_like(t), full_like(t, 2.0)}) {
    EXPECT_EQ(z.sizes(), (Shape{4, 3}));
    EXPECT_EQ(z.strides(), (Shape{1, 4}));
  }
  expect_values(ones_like(t), std::vector<double>(12, 1.0));
  // Not dense: the stride order is kept, the gaps are not.
  Tensor gappy = zeros({4, 6}, opts()).narrow(1, 0, 3).t();  // [3, 4] with strides (1, 6)
  EXPECT_EQ(zeros_like(gappy).strides(), (Shape{1, 3}));
  EXPECT_EQ(zeros_like(zeros({2, 5}, opts())).strides(), (Shape{5, 1}));
}

TEST_P(TensorBasics, ItemAndDataPtrCheckDtype) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor s = full({1}, 3.5, opts());
  EXPECT_EQ(s.item<float>(), 3.5f);
  EXPECT_EQ(s.item<double>(), 3.5);
  EXPECT_EQ(s.item().to_double(), 3.5);
  Tensor h = zeros({2}, TensorOptions(kFloat32));
  EXPECT_THROW(h.data_ptr<double>(), DTypeError);
}

TEST(TensorPrint, MatchesTorchRepr) {
  EXPECT_EQ(tensor({1.0f, 2.5f}).str(), "tensor([1.0000, 2.5000])");
  EXPECT_EQ(tensor({1.0f, 2.0f}).str(), "tensor([1., 2.])");
  EXPECT_EQ(arange(3).str(), "tensor([0, 1, 2])");
  EXPECT_EQ(tensor(std::vector<bool>{true, false}).str(), "tensor([ True, False])");
  EXPECT_EQ(tensor(std::vector<double>{0.5}).str(), "tensor([0.5000], dtype=torch.float64)");
  EXPECT_EQ(arange(4).view({2, 2}).str(), "tensor([[0, 1],\n        [2, 3]])");
  EXPECT_EQ(zeros({0}).str(), "tensor([])");
  Tensor big = arange(2000);
  EXPECT_NE(big.str().find("..."), std::string::npos);
  Tensor r = ones({2}).requires_grad_();
  EXPECT_EQ(r.str(), "tensor([1., 1.], requires_grad=True)");
}

TEST(TensorPinned, PinnedMemoryAndNonBlockingCopies) {
  if (!cuda::is_available()) EXPECT_THROW(ones({4}).pin_memory(), DeviceError);
  KILN_SKIP_WITHOUT_GPU();  // pinned memory needs CUDA
  Tensor p = arange(1000, TensorOptions(kFloat32)).pin_memory();
  EXPECT_TRUE(p.is_pinned());
  Tensor d = p.to(Device("cuda"), /*non_blocking=*/true);
  cuda::synchronize();
  kiln::test::expect_close(d, p);
}
