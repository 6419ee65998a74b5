// Helpers for the kiln::data tests: a per-test temporary folder and small MNIST-format files.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/idx.h"
#include "kiln/core/error.h"

namespace kiln::test {

/// A fresh folder under testing::TempDir() for each test, removed afterwards.
class TempDirTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(testing::TempDir()) /
           ("kiln_data_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write_text(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

  std::filesystem::path dir_;
};

/// Writes an MNIST-format pair of files: n images whose pixel (r, c) of image i is (i * 7 + r * 28 + c) % 256,
/// with labels i % 10, under the train- or t10k- names.
inline void write_mnist(const std::string& dir, int64_t n, bool train = true, bool gzip = false) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  const std::string suffix = gzip ? ".gz" : "";
  io::IdxArray images{DType::UInt8, {n, 28, 28}, {}};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < 28 * 28; ++p) images.bytes.push_back(static_cast<uint8_t>((i * 7 + p) % 256));
  io::IdxArray labels{DType::UInt8, {n}, {}};
  for (int64_t i = 0; i < n; ++i) labels.bytes.push_back(static_cast<uint8_t>(i % 10));
  io::write_idx(prefix + "-images-idx3-ubyte" + suffix, images, gzip);
  io::write_idx(prefix + "-labels-idx1-ubyte" + suffix, labels, gzip);
}

/// The message of the exception of type E that fn throws (a test failure when it throws none).
template <typename E, typename F>
std::string error_message(F&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

}  // namespace kiln::test
