// The image-classification task behind `kiln train` and `kiln eval`: datasets, the model and its metadata.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "kiln/io/checkpoint.h"
#include "kiln/kiln.h"
#include "kiln/nn/nn.h"

namespace kiln::cli {

/// A dataset split held in memory: flattened, normalised images and int64 labels.
struct Split {
  Tensor images;  ///< float32 [N, 784]
  Tensor labels;  ///< int64 [N]
  std::string images_path;
};

struct Task {
  std::string dataset;  ///< "fashion-mnist" or "mnist"
  std::string data_dir;
  std::vector<std::string> classes;
  double mean = 0, std = 1;
};

/// Resolves --dataset/--data (empty dir: Debian's dataset-fashion-mnist location for fashion-mnist; MNIST
/// needs --data). Throws ValueError for an unknown dataset name.
Task make_task(const std::string& dataset, const std::string& data_dir);
/// Reads and normalises one split (IOError naming the file when it is missing or corrupt).
Split load_split(const Task& task, bool train);

/// "256,128" -> {256, 128}; throws ValueError on anything but positive integers.
std::vector<int64_t> parse_hidden(const std::string& text);
/// A whole number from checkpoint metadata, or an IOError naming the file, the key and the bad text.
int64_t parse_metadata_int(const std::string& text, const std::string& key, const std::string& path);
/// Linear/ReLU stack: 784 -> hidden... -> classes.
nn::Sequential build_mlp(int64_t inputs, const std::vector<int64_t>& hidden, int64_t classes);

/// A metadata value of a `kiln train` checkpoint, or an IOError naming the file and the missing key.
std::string checkpoint_meta(const Checkpoint& ck, const std::string& key, const std::string& path);
/// The model a `kiln train` checkpoint describes (metadata model, hidden, classes) on device, with its weights.
/// The metadata is checked against the checkpoint's weight shapes before the model is made, so a damaged or
/// hostile file cannot make kiln allocate more than the file holds; throws IOError naming path otherwise.
nn::Sequential model_from_checkpoint(const Checkpoint& ck, const std::string& path, Device device);
/// The model named by `kiln train --model`: "mlp" (build_mlp on flattened images, `hidden` its widths), "cnn"
/// (build_cnn) or "resnet" (build_resnet), both on [1, 28, 28] images. Throws ValueError naming the choices for another name.
nn::Sequential build_model(const std::string& name, const std::vector<int64_t>& hidden, int64_t classes);
/// One sample's shape as the model takes it: {784} for mlp, {1, 28, 28} for cnn and resnet.
Shape model_input_shape(const std::string& name);
/// Two conv blocks (Conv 3x3 -> BatchNorm -> ReLU -> MaxPool 2) of 32 and 64 channels, then a linear head
/// (3136 -> 128 -> ReLU -> classes).
nn::Sequential build_cnn(int64_t classes);
/// A small ResNet for 28x28 images (0.31M parameters for 10 classes): a 3x3 stem conv (32) with BatchNorm and
/// ReLU, three nn::ResidualBlock stages of 32, 64 and 128 channels (28x28, 14x14, 7x7; 1x1 projection
/// shortcuts where the shape changes), global average pooling and a linear head.
nn::Sequential build_resnet(int64_t classes);

/// --device auto|cpu|cuda|cuda:N -> the device, and a sentence saying why it was chosen.
std::pair<Device, std::string> choose_device(const std::string& spec);
}  // namespace kiln::cli
