// Batch transforms built from tensor ops, so they run wherever the batch lives (CPU or GPU).
#include "kiln/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"

namespace kiln::data {
namespace {

// A [1, C, 1, ...] tensor of per-channel values in the batch's dtype and device, to broadcast against it.
Tensor channel_tensor(const std::vector<double>& v, const Tensor& batch) {
  Shape shape(static_cast<size_t>(batch.dim()), 1);
  shape[1] = static_cast<int64_t>(v.size());
  return tensor(v, shape, TensorOptions(batch.dtype()).device(batch.device()));
}

// The uniform numbers a random transform draws for a batch: always on the CPU, so that the same generator
// gives the same decisions for a batch on any device.
std::vector<float> draw_uniform(int64_t n, Generator* gen) {
  return rand({n}, TensorOptions(kFloat32), gen).to_vector<float>();
}
}  // namespace

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  KILN_CHECK(!mean_.empty() && !std_.empty(), "Normalize: mean and std need at least one value each");
  KILN_CHECK(mean_.size() == std_.size() || mean_.size() == 1 || std_.size() == 1, "Normalize: mean has ",
             mean_.size(), " values and std has ", std_.size(), "; give one per channel (or one for all)");
  for (double s : std_)
    KILN_CHECK(s != 0 && std::isfinite(s), "Normalize: std must be finite and nonzero, got ", s);
}

Tensor Normalize::operator()(const Tensor& batch, Generator*) const {
  KILN_CHECK_DTYPE(batch.is_floating_point(), "Normalize: the batch must be floating point, got ",
                   dtype_name(batch.dtype()), " (convert images to float first)");
  KILN_CHECK_SHAPE(batch.dim() >= 2, "Normalize: expected a batch [N, C, ...], got shape ", batch.shape_str());
  const size_t c = static_cast<size_t>(batch.size(1));
  auto expand_to_channels = [&](const std::vector<double>& v, const char* name) {
    KILN_CHECK_SHAPE(v.size() == 1 || v.size() == c, "Normalize: ", name, " has ", v.size(),
                     " values but the batch of shape ", batch.shape_str(), " has ", c, " channels (dim 1)");
    return v.size() == c ? v : std::vector<double>(c, v[0]);
  };
  Tensor mean = channel_tensor(expand_to_channels(mean_, "mean"), batch);
  Tensor std = channel_tensor(expand_to_channels(std_, "std"), batch);
  return div(sub(batch, mean), std);
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  KILN_CHECK(p >= 0 && p <= 1, "RandomHorizontalFlip: p must be a probability in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& batch, Generator* gen) const {
  KILN_CHECK_SHAPE(batch.dim() >= 2, "RandomHorizontalFlip: expected a batch [N, ..., W], got shape ",
                   batch.shape_str());
  const int64_t n = batch.size(0), w_dim = batch.dim() - 1, w = batch.size(w_dim);
  const std::vector<float> u = draw_uniform(n, gen);
  std::vector<bool> flip(static_cast<size_t>(n));
  int64_t flips = 0;
  for (int64_t i = 0; i < n; ++i) flips += (flip[static_cast<size_t>(i)] = u[static_cast<size_t>(i)] < p_) ? 1 : 0;
  if (flips == 0 || w <= 1) return batch;
  // Column w-1-j of the input becomes column j: one gather along the width for the whole batch.
  Tensor reversed = arange(w - 1, -1, -1, kInt64, batch.device());
  Tensor mirrored = index_select(batch, w_dim, reversed);
  if (flips == n) return mirrored;
  Shape mask_shape(static_cast<size_t>(batch.dim()), 1);
  mask_shape[0] = n;
  Tensor mask = tensor(flip, mask_shape, TensorOptions(kBool).device(batch.device()));
  return where(mask, mirrored, batch);
}

RandomCrop::RandomCrop(int64_t height, int64_t width, int64_t padding)
    : height_(height), width_(width), padding_(padding) {
  KILN_CHECK(height > 0 && width > 0, "RandomCrop: the crop size must be positive, got ", height, "x", width);
  KILN_CHECK(padding >= 0, "RandomCrop: padding must be non-negative, got ", padding);
}

Tensor RandomCrop::operator()(const Tensor& batch, Generator* gen) const {
  KILN_CHECK_SHAPE(batch.dim() == 4, "RandomCrop: expected a batch of images [N, C, H, W], got shape ",
                   batch.shape_str());
  const int64_t n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
  const int64_t ph = h + 2 * padding_, pw = w + 2 * padding_;
  KILN_CHECK(height_ <= ph && width_ <= pw, "RandomCrop: a ", height_, "x", width_, " window does not fit in ", h,
             "x", w, " images padded by ", padding_, " (", ph, "x", pw, ")");
  const TensorOptions opts = TensorOptions(batch.dtype()).device(batch.device());
  Tensor padded = batch;
  if (padding_ > 0) {
    padded = zeros({n, c, ph, pw}, opts);
    Tensor inner = padded.narrow(2, padding_, h).narrow(3, padding_, w);
    inner.copy_(batch);
  }
  // Offsets for every sample in one draw: y from the first n numbers, x from the next n.
  const std::vector<float> u = draw_uniform(2 * n, gen);
  auto offset = [](float r, int64_t choices) { return std::min<int64_t>(static_cast<int64_t>(r * choices), choices - 1); };
  Tensor out = empty({n, c, height_, width_}, opts);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = offset(u[static_cast<size_t>(i)], ph - height_ + 1);
    const int64_t x = offset(u[static_cast<size_t>(n + i)], pw - width_ + 1);
    Tensor dst = out.select(0, i);
    dst.copy_(padded.select(0, i).narrow(1, y, height_).narrow(2, x, width_));
  }
  return out;
}

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {
  for (const Transform& t : transforms_) KILN_CHECK(static_cast<bool>(t), "Compose: a transform is empty");
}

Tensor Compose::operator()(const Tensor& batch, Generator* gen) const {
  Tensor x = batch;
  for (const Transform& t : transforms_) x = t(x, gen);
  return x;
}

}  // namespace kiln::data
