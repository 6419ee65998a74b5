// Ready-made datasets: MNIST and Fashion-MNIST from IDX files, and numeric tables from CSV files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/data/dataset.h"

namespace kiln::data {

/// Where Debian's dataset-fashion-mnist package installs Fashion-MNIST: /usr/share/datasets/fashion-mnist.
std::string default_fashion_mnist_dir();

/// MNIST-format digits held in memory: data float32 [N, 1, 28, 28] scaled to [0, 1], targets int64 [N] in 0..9.
/// Reads `root`/train-images-idx3-ubyte and train-labels-idx1-ubyte (train) or t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte (test), each plain or with a .gz suffix (MNIST and Fashion-MNIST use the same names).
/// Throws IOError naming the file and the problem: a missing file (listing the names looked for), a corrupt or
/// truncated file, images that are not 28x28 unsigned bytes, image and label counts that differ, a label
/// outside 0..9.
class MNIST : public TensorDataset {
 public:
  explicit MNIST(const std::string& root, bool train = true);
  /// data(): the images; targets(): the labels.
  const Tensor& images() const { return data(); }
  const Tensor& labels() const { return targets(); }
  /// Names of the 10 classes ("0".."9" for MNIST).
  virtual std::vector<std::string> classes() const;
  const std::string& images_path() const { return images_path_; }
  const std::string& labels_path() const { return labels_path_; }

 private:
  std::string images_path_, labels_path_;
};

/// The Fashion-MNIST class names, in label order: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt,
/// Sneaker, Bag, Ankle boot.
std::vector<std::string> fashion_mnist_classes();

/// Fashion-MNIST: the MNIST format with clothing classes. root defaults to default_fashion_mnist_dir().
class FashionMNIST : public MNIST {
 public:
  explicit FashionMNIST(const std::string& root = default_fashion_mnist_dir(), bool train = true)
      : MNIST(root, train) {}
  std::vector<std::string> classes() const override { return fashion_mnist_classes(); }
};

/// How CSVDataset reads a file.
struct CsvOptions {
  char delimiter = ',';       ///< field separator
  bool header = true;         ///< whether the first line holds column names
  DType target_dtype = kInt64;  ///< kInt64 for class labels (must be whole numbers), kFloat32/kFloat64 for regression
};

/// A numeric CSV table: one sample per row, the target column split off.
/// data: float32 [rows, columns - 1] (the other columns, in file order); targets: [rows] of options.target_dtype.
/// Note for regression: a model with one output gives [N, 1], so reshape targets to [N, 1] before mse_loss.
/// Throws IOError for unreadable or malformed files (see the CSV reader) and ValueError for a target column that
/// does not exist, a table with no feature column, or non-integer values in an int64 target column.
class CSVDataset : public TensorDataset {
 public:
  /// target_column by name (needs options.header).
  CSVDataset(const std::string& path, const std::string& target_column, const CsvOptions& options = {});
  CSVDataset(const std::string& path, const char* target_column, const CsvOptions& options = {})
      : CSVDataset(path, std::string(target_column), options) {}
  /// target_column by 0-based position; negative counts from the end (-1 is the last column).
  CSVDataset(const std::string& path, int64_t target_column, const CsvOptions& options = {});
  CSVDataset(const std::string& path, int target_column, const CsvOptions& options = {})
      : CSVDataset(path, static_cast<int64_t>(target_column), options) {}
  /// Names of the feature columns (empty without a header) and of the target column.
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::string& target_name() const { return target_name_; }

 private:
  void load(const std::string& path, const std::string* name, int64_t position, const CsvOptions& options);
  std::vector<std::string> feature_names_;
  std::string target_name_;
};

}  // namespace kiln::data
