// Batch transforms (torchvision.transforms on whole batches): Normalize, RandomHorizontalFlip, RandomCrop, Compose.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln::data {

/// A transform of a batch of inputs (the Example's data), run on the batch's device. Random transforms draw from
/// `gen` (the default generator when null), so the same generator state gives the same result on any device.
/// The DataLoader passes each batch a generator seeded from (loader seed, epoch, batch number).
using Transform = std::function<Tensor(const Tensor& batch, Generator* gen)>;

/// (x - mean[c]) / std[c] for every channel c of a floating batch [N, C, ...] (images [N, C, H, W] or
/// features [N, C]). mean and std have C entries, or one entry used for every channel.
/// Throws ShapeError when C differs, DTypeError for a non-floating batch, ValueError for a zero std.
class Normalize {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(const Tensor& batch, Generator* gen = nullptr) const;

 private:
  std::vector<double> mean_, std_;
};

/// Mirrors each sample of a batch [N, ..., W] left to right with probability p, independently per sample.
/// Draws N uniform numbers per call whatever p is, so a generator's stream does not depend on p.
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(const Tensor& batch, Generator* gen = nullptr) const;

 private:
  double p_;
};

/// Pads each image of a batch [N, C, H, W] with `padding` zeros on every side, then cuts a height x width
/// window at an offset drawn independently per sample (uniform over every window that fits).
/// Throws ShapeError for a batch that is not 4-D and ValueError when the window is larger than the padded image.
class RandomCrop {
 public:
  RandomCrop(int64_t size, int64_t padding = 0) : RandomCrop(size, size, padding) {}
  RandomCrop(int64_t height, int64_t width, int64_t padding);
  Tensor operator()(const Tensor& batch, Generator* gen = nullptr) const;

 private:
  int64_t height_, width_, padding_;
};

/// Applies transforms in order, all drawing from the same generator.
class Compose {
 public:
  Compose(std::vector<Transform> transforms);
  Tensor operator()(const Tensor& batch, Generator* gen = nullptr) const;

 private:
  std::vector<Transform> transforms_;
};

}  // namespace kiln::data
