// Tests for the batch transforms against host loops: Normalize values, exact flips, crops as shifted windows.
#include <gtest/gtest.h>

#include <set>

#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/data/transforms.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/tensor.h"
#include "test_util.h"

namespace kiln::test {
namespace {

using data::Compose;
using data::Normalize;
using data::RandomCrop;
using data::RandomHorizontalFlip;

class TransformsTest : public DeviceTest {
 protected:
  // A random batch [n, c, h, w] on the test device.
  Tensor batch(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed = 1) {
    Generator g(seed);
    return randn({n, c, h, w}, opts(), &g);
  }
};

// Element (n, c, y, x) of a contiguous host copy.
struct Nchw {
  std::vector<double> v;
  int64_t c, h, w;
  explicit Nchw(const Tensor& t) : v(t.to_vector<double>()), c(t.size(1)), h(t.size(2)), w(t.size(3)) {}
  double at(int64_t n, int64_t ch, int64_t y, int64_t x) const { return v[static_cast<size_t>(((n * c + ch) * h + y) * w + x)]; }
};

TEST_P(TransformsTest, NormalizeSubtractsMeanAndDividesByStdPerChannel) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(3, 2, 4, 5);
  Tensor y = Normalize({0.5, -1.0}, {2.0, 0.25})(x);
  ASSERT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.device().type(), dev().type());
  EXPECT_EQ(y.dtype(), kFloat32);
  std::vector<double> in = x.to_vector<double>(), expected(in.size());
  const double mean[2] = {0.5, -1.0}, sd[2] = {2.0, 0.25};
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t c = (i / 20) % 2;
    expected[i] = (in[i] - mean[c]) / sd[c];
  }
  expect_values(y, expected, 1e-5);
  // One value for every channel; features [N, C] work too.
  Tensor f = tensor(std::vector<float>{1, 2, 3, 4}, {2, 2}, opts());
  expect_values(Normalize({1.0}, {2.0})(f), {0, 0.5, 1, 1.5});
}

TEST_P(TransformsTest, NormalizeRejectsBadInputs) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(2, 3, 2, 2);
  EXPECT_THROW(Normalize({0.1, 0.2}, {1.0, 1.0})(x), ShapeError);
  EXPECT_THROW(Normalize({0.0}, {1.0})(zeros({2, 3, 2, 2}, opts(kInt64))), DTypeError);
  EXPECT_THROW(Normalize({0.0}, {0.0}), ValueError);
}

TEST_P(TransformsTest, FlipWithProbabilityOneMirrorsEveryImageExactly) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(4, 3, 5, 7);
  Generator g(2);
  Tensor y = RandomHorizontalFlip(1.0)(x, &g);
  ASSERT_EQ(y.sizes(), x.sizes());
  Nchw in(x), out(y);
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t r = 0; r < 5; ++r)
        for (int64_t q = 0; q < 7; ++q) ASSERT_EQ(out.at(n, c, r, q), in.at(n, c, r, 6 - q));
  Tensor same = RandomHorizontalFlip(0.0)(x, &g);
  EXPECT_EQ(same.to_vector<float>(), x.to_vector<float>());
}

TEST_P(TransformsTest, FlipDecidesPerSampleAndReproduciblyBySeed) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(64, 1, 2, 3);
  Generator g1(5), g2(5), host_gen(5);
  Tensor a = RandomHorizontalFlip(0.5)(x, &g1);
  Tensor b = RandomHorizontalFlip(0.5)(x, &g2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  // The same generator state makes the same decisions for a CPU batch.
  Tensor c = RandomHorizontalFlip(0.5)(x.cpu(), &host_gen);
  EXPECT_EQ(a.to_vector<float>(), c.to_vector<float>());
  Nchw in(x), out(a);
  int flipped = 0, kept = 0;
  for (int64_t n = 0; n < 64; ++n) {
    bool is_kept = true, is_flipped = true;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t q = 0; q < 3; ++q) {
        is_kept = is_kept && out.at(n, 0, r, q) == in.at(n, 0, r, q);
        is_flipped = is_flipped && out.at(n, 0, r, q) == in.at(n, 0, r, 2 - q);
      }
    EXPECT_TRUE(is_kept || is_flipped) << "sample " << n;
    flipped += is_flipped;
    kept += is_kept;
  }
  EXPECT_GT(flipped, 10);
  EXPECT_GT(kept, 10);
}

// True when out[n] is the h x w window of x[n] padded with `pad` zeros at offset (dy, dx) of the padded image.
bool is_window(const Nchw& in, const Nchw& out, int64_t n, int64_t pad, int64_t dy, int64_t dx) {
  for (int64_t c = 0; c < out.c; ++c)
    for (int64_t r = 0; r < out.h; ++r)
      for (int64_t q = 0; q < out.w; ++q) {
        const int64_t sy = r + dy - pad, sx = q + dx - pad;
        const bool inside = sy >= 0 && sy < in.h && sx >= 0 && sx < in.w;
        if (out.at(n, c, r, q) != (inside ? in.at(n, c, sy, sx) : 0.0)) return false;
      }
  return true;
}

TEST_P(TransformsTest, CropWithPaddingKeepsTheShapeAndCutsAShiftedWindow) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(16, 2, 6, 6);
  Generator g(9);
  Tensor y = RandomCrop(6, 2)(x, &g);
  ASSERT_EQ(y.sizes(), x.sizes());
  Nchw in(x), out(y);
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t n = 0; n < 16; ++n) {
    int matches = 0;
    for (int64_t dy = 0; dy <= 4; ++dy)
      for (int64_t dx = 0; dx <= 4; ++dx)
        if (is_window(in, out, n, 2, dy, dx)) {
          ++matches;
          offsets.insert({dy, dx});
        }
    EXPECT_EQ(matches, 1) << "sample " << n << " is not exactly one window of the padded image";
  }
  EXPECT_GT(offsets.size(), 4u);  // offsets are drawn per sample
  Generator again(9);
  EXPECT_EQ(RandomCrop(6, 2)(x, &again).to_vector<float>(), y.to_vector<float>());
}

TEST_P(TransformsTest, CropWithoutPaddingCutsAWindowOfTheImage) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(5, 1, 8, 6);
  Generator g(4);
  Tensor y = RandomCrop(3, 4, 0)(x, &g);
  ASSERT_EQ(y.sizes(), (Shape{5, 1, 3, 4}));
  Nchw in(x), out(y);
  for (int64_t n = 0; n < 5; ++n) {
    bool found = false;
    for (int64_t dy = 0; dy <= 5; ++dy)
      for (int64_t dx = 0; dx <= 2; ++dx) found = found || is_window(in, out, n, 0, dy, dx);
    EXPECT_TRUE(found) << "sample " << n;
  }
  EXPECT_THROW(RandomCrop(9, 0)(x, &g), ValueError);
  EXPECT_THROW(RandomCrop(2, 0)(zeros({2, 3, 3}, opts())), ShapeError);
}

TEST_P(TransformsTest, ComposeAppliesInOrder) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor x = batch(2, 1, 2, 2);
  Compose both({Normalize({1.0}, {2.0}), RandomHorizontalFlip(1.0)});
  Generator g(0);
  Tensor y = both(x, &g);
  Tensor expected = RandomHorizontalFlip(1.0)(Normalize({1.0}, {2.0})(x));
  expect_close(y, expected);
}

INSTANTIATE_DEVICE_TESTS(TransformsTest);

}  // namespace
}  // namespace kiln::test
