// A tiny MNIST-format dataset (hashed pixels, labels i % 10) for CLI tests that only need `kiln train` and
// `kiln eval` to get past loading data: they then run fast and without Fashion-MNIST installed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "io/idx.h"

namespace kiln::test {
inline void write_tiny_mnist(const std::string& dir, int64_t train_rows, int64_t test_rows) {
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& prefix, int64_t n) {
    io::IdxArray images, labels;
    images.shape = {n, 28, 28};
    images.bytes.resize(static_cast<size_t>(n * 28 * 28));
    for (size_t i = 0; i < images.bytes.size(); ++i) images.bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
    labels.shape = {n};
    for (int64_t i = 0; i < n; ++i) labels.bytes.push_back(static_cast<uint8_t>(i % 10));
    io::write_idx(dir + "/" + prefix + "-images-idx3-ubyte", images);
    io::write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", labels);
  };
  write("train", train_rows);
  write("t10k", test_rows);
}
}  // namespace kiln::test
