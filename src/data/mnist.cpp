// MNIST and Fashion-MNIST: finds the IDX files under a root folder, validates them and converts them to tensors.
#include <sys/stat.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/idx.h"
#include "kiln/core/error.h"
#include "kiln/data/datasets.h"

namespace kiln::data {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// The path of `name` or `name`.gz under root; a missing file is an error that says what was looked for and
// how to point elsewhere, since the usual cause is a wrong or absent data folder.
std::string find_file(const std::string& root, const std::string& name, const char* what) {
  const std::string plain = join(root, name), gz = plain + ".gz";
  if (is_regular_file(plain)) return plain;
  if (is_regular_file(gz)) return gz;
  std::string where = is_directory(root) ? "in '" + root + "'" : "because the folder '" + root + "' does not exist";
  throw IOError("MNIST: cannot find the " + std::string(what) + " " + where + ": looked for " + name + " and " +
                name + ".gz. Put the MNIST or Fashion-MNIST IDX files there, or use --data DIR to point at the " +
                "folder that holds them (Debian's dataset-fashion-mnist package installs Fashion-MNIST in " +
                default_fashion_mnist_dir() + ")");
}

[[noreturn]] void bad(const std::string& path, const std::string& problem) {
  throw IOError("MNIST: '" + path + "' " + problem);
}

std::string shape_str(const std::vector<int64_t>& shape) { return shape_to_string(shape); }

Tensor load_images(const std::string& path) {
  io::IdxArray a = io::read_idx(path);
  if (a.dtype != DType::UInt8)
    bad(path, std::string("holds ") + dtype_name(a.dtype) +
                  " values, but MNIST images are unsigned bytes (IDX type 0x08): is this a labels file or "
                  "another data set?");
  if (a.shape.size() != 3)
    bad(path, "has shape " + shape_str(a.shape) +
                  ", but MNIST images are [count, 28, 28] (3 dims): is this a labels file?");
  if (a.shape[1] != 28 || a.shape[2] != 28)
    bad(path, "holds images of " + std::to_string(a.shape[1]) + "x" + std::to_string(a.shape[2]) +
                  " pixels, but MNIST images are 28x28");
  const int64_t n = a.shape[0];
  Tensor images = make_tensor({n, 1, 28, 28}, kFloat32, Device(kCPU));
  float* dst = images.data_ptr<float>();
  const uint8_t* src = a.bytes.data();
  const size_t count = a.bytes.size();
  // Pixels 0..255 become 0..1, as torchvision's ToTensor does.
  for (size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
  return images;
}

Tensor load_labels(const std::string& path) {
  io::IdxArray a = io::read_idx(path);
  if (a.dtype != DType::UInt8)
    bad(path, std::string("holds ") + dtype_name(a.dtype) + " values, but MNIST labels are unsigned bytes (IDX type 0x08)");
  if (a.shape.size() != 1)
    bad(path, "has shape " + shape_str(a.shape) + ", but MNIST labels are [count] (1 dim): is this an images file?");
  const int64_t n = a.shape[0];
  Tensor labels = make_tensor({n}, kInt64, Device(kCPU));
  int64_t* dst = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t v = a.bytes[static_cast<size_t>(i)];
    if (v > 9)
      bad(path, "has label " + std::to_string(v) + " at position " + std::to_string(i) +
                    ", but MNIST labels are 0..9 (corrupt file?)");
    dst[i] = v;
  }
  return labels;
}
}  // namespace

std::string default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

std::vector<std::string> fashion_mnist_classes() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

MNIST::MNIST(const std::string& root, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const char* split = train ? "training" : "test";
  // Find both files before reading either, so a missing one is reported without a slow read first.
  images_path_ = find_file(root, prefix + "-images-idx3-ubyte", (std::string(split) + " images").c_str());
  labels_path_ = find_file(root, prefix + "-labels-idx1-ubyte", (std::string(split) + " labels").c_str());
  Tensor images = load_images(images_path_);
  Tensor labels = load_labels(labels_path_);
  if (images.size(0) != labels.size(0))
    throw IOError("MNIST: '" + images_path_ + "' has " + std::to_string(images.size(0)) + " images but '" +
                  labels_path_ + "' has " + std::to_string(labels.size(0)) +
                  " labels; they must match (files from different splits or data sets, or a truncated download?)");
  reset(std::move(images), std::move(labels));
}

std::vector<std::string> MNIST::classes() const { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }

}  // namespace kiln::data
