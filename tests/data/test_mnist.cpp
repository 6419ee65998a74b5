// Tests for MNIST / FashionMNIST: good files (plain and gzip), every malformed-file error, and the real data set.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "data/data_test_util.h"
#include "kiln/core/error.h"
#include "kiln/data/dataset.h"
#include "kiln/data/datasets.h"
#include "kiln/tensor/tensor.h"

namespace kiln::test {
namespace {

using data::FashionMNIST;
using data::MNIST;
namespace fs = std::filesystem;

testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class MnistTest : public TempDirTest {};

TEST_F(MnistTest, ReadsPlainFilesAsScaledFloatsAndInt64Labels) {
  write_mnist(dir_.string(), 12);
  MNIST ds(dir_.string());
  EXPECT_EQ(ds.size(), 12);
  EXPECT_EQ(ds.images().sizes(), (Shape{12, 1, 28, 28}));
  EXPECT_EQ(ds.images().dtype(), kFloat32);
  EXPECT_EQ(ds.labels().sizes(), (Shape{12}));
  EXPECT_EQ(ds.labels().dtype(), kInt64);
  std::vector<float> px = ds.images().to_vector<float>();
  for (int64_t i : {0, 5, 11})
    for (int64_t p : {0, 1, 300, 783})
      EXPECT_FLOAT_EQ(px[static_cast<size_t>(i * 784 + p)], static_cast<float>((i * 7 + p) % 256) / 255.0f);
  EXPECT_EQ(*std::max_element(px.begin(), px.end()), 1.0f);  // byte 255 occurs and maps to exactly 1
  std::vector<int64_t> labels = ds.labels().to_vector<int64_t>();
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(labels[static_cast<size_t>(i)], i % 10);
  EXPECT_EQ(ds.classes().size(), 10u);
  data::Example e = ds.get(3);
  EXPECT_EQ(e.data.sizes(), (Shape{1, 28, 28}));
  EXPECT_EQ(e.target.item<int64_t>(), 3);
}

TEST_F(MnistTest, ReadsGzipFilesAndTheTestSplit) {
  write_mnist(dir_.string(), 7, /*train=*/false, /*gzip=*/true);
  MNIST test(dir_.string(), /*train=*/false);
  EXPECT_EQ(test.size(), 7);
  EXPECT_TRUE(contains(test.images_path(), "t10k-images-idx3-ubyte.gz"));
  EXPECT_TRUE(contains(test.labels_path(), "t10k-labels-idx1-ubyte.gz"));
  // The training split is absent here.
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string(), true); });
  EXPECT_TRUE(contains(msg, "train-images-idx3-ubyte"));
}

TEST_F(MnistTest, MissingFilesListTheNamesAndSayHowToPointElsewhere) {
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string(), false); });
  EXPECT_TRUE(contains(msg, "t10k-images-idx3-ubyte"));
  EXPECT_TRUE(contains(msg, "t10k-images-idx3-ubyte.gz"));
  EXPECT_TRUE(contains(msg, dir_.string()));
  EXPECT_TRUE(contains(msg, "--data DIR"));
  EXPECT_TRUE(contains(msg, "/usr/share/datasets/fashion-mnist"));
  msg = error_message<IOError>([&] { MNIST(path("no_such_folder")); });
  EXPECT_TRUE(contains(msg, "does not exist"));
  // Images present, labels missing: the labels file is named.
  write_mnist(dir_.string(), 3);
  fs::remove(path("train-labels-idx1-ubyte"));
  msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "train-labels-idx1-ubyte"));
  EXPECT_TRUE(contains(msg, "labels"));
}

TEST_F(MnistTest, TruncatedImagesFileIsAnIOErrorNamingIt) {
  write_mnist(dir_.string(), 4);
  const std::string images = path("train-images-idx3-ubyte");
  fs::resize_file(images, fs::file_size(images) - 100);
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, images));
  EXPECT_TRUE(contains(msg, "truncated"));
}

TEST_F(MnistTest, MismatchedCountsNameBothFilesAndCounts) {
  write_mnist(dir_.string(), 5);
  io::IdxArray labels{DType::UInt8, {4}, {0, 1, 2, 3}};
  io::write_idx(path("train-labels-idx1-ubyte"), labels);
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "5 images"));
  EXPECT_TRUE(contains(msg, "4 labels"));
  EXPECT_TRUE(contains(msg, "train-images-idx3-ubyte"));
  EXPECT_TRUE(contains(msg, "train-labels-idx1-ubyte"));
}

TEST_F(MnistTest, LabelOutsideZeroToNineIsRejected) {
  write_mnist(dir_.string(), 4);
  io::IdxArray labels{DType::UInt8, {4}, {0, 1, 10, 3}};
  io::write_idx(path("train-labels-idx1-ubyte"), labels);
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "train-labels-idx1-ubyte"));
  EXPECT_TRUE(contains(msg, "label 10 at position 2"));
  EXPECT_TRUE(contains(msg, "0..9"));
}

TEST_F(MnistTest, WrongImageGeometryOrTypeIsRejected) {
  write_mnist(dir_.string(), 2);
  io::IdxArray small{DType::UInt8, {2, 14, 14}, std::vector<uint8_t>(2 * 14 * 14, 0)};
  io::write_idx(path("train-images-idx3-ubyte"), small);
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "14x14"));
  EXPECT_TRUE(contains(msg, "28x28"));

  io::IdxArray flat{DType::UInt8, {2, 784}, std::vector<uint8_t>(2 * 784, 0)};
  io::write_idx(path("train-images-idx3-ubyte"), flat);
  msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "[2, 784]"));

  io::IdxArray floats{DType::Float32, {2, 28, 28}, std::vector<uint8_t>(2 * 784 * 4, 0)};
  io::write_idx(path("train-images-idx3-ubyte"), floats);
  msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "unsigned bytes"));
}

TEST_F(MnistTest, NotAnIdxFileIsAnIOError) {
  write_mnist(dir_.string(), 2);
  write_text("train-images-idx3-ubyte", "<html>404 not found</html>");
  std::string msg = error_message<IOError>([&] { MNIST(dir_.string()); });
  EXPECT_TRUE(contains(msg, "train-images-idx3-ubyte"));
}

TEST(FashionMnistClasses, NamesInLabelOrder) {
  std::vector<std::string> c = data::fashion_mnist_classes();
  ASSERT_EQ(c.size(), 10u);
  EXPECT_EQ(c[0], "T-shirt/top");
  EXPECT_EQ(c[1], "Trouser");
  EXPECT_EQ(c[5], "Sandal");
  EXPECT_EQ(c[9], "Ankle boot");
  EXPECT_EQ(data::default_fashion_mnist_dir(), "/usr/share/datasets/fashion-mnist");
}

TEST_F(MnistTest, FashionMnistIsMnistWithClothingClasses) {
  write_mnist(dir_.string(), 3, false);
  FashionMNIST ds(dir_.string(), false);
  EXPECT_EQ(ds.size(), 3);
  EXPECT_EQ(ds.classes()[7], "Sneaker");
}

// The real Fashion-MNIST test split, when Debian's dataset-fashion-mnist package is installed.
TEST(FashionMnistInstalled, TestSplitHasTenBalancedClasses) {
  struct stat st {};
  const std::string dir = data::default_fashion_mnist_dir();
  if (::stat(dir.c_str(), &st) != 0) GTEST_SKIP() << dir << " is absent (apt install dataset-fashion-mnist)";
  FashionMNIST ds(dir, /*train=*/false);
  ASSERT_EQ(ds.images().sizes(), (Shape{10000, 1, 28, 28}));
  ASSERT_EQ(ds.labels().sizes(), (Shape{10000}));
  std::vector<float> px = ds.images().to_vector<float>();
  auto [lo, hi] = std::minmax_element(px.begin(), px.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
  double mean = 0;
  for (float v : px) mean += v;
  mean /= static_cast<double>(px.size());
  EXPECT_NEAR(mean, 0.286, 0.01);  // Fashion-MNIST's well-known pixel mean
  std::vector<int64_t> hist(10, 0);
  for (int64_t l : ds.labels().to_vector<int64_t>()) ++hist[static_cast<size_t>(l)];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(hist[static_cast<size_t>(c)], 1000) << "class " << c;
}

}  // namespace
}  // namespace kiln::test
