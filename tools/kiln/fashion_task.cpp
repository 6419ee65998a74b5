// Datasets, model and device choice shared by `kiln train` and `kiln eval`.
#include "fashion_task.h"

#include "kiln/data/datasets.h"

namespace kiln::cli {

Task make_task(const std::string& dataset, const std::string& data_dir) {
  Task t;
  t.dataset = dataset;
  if (dataset == "fashion-mnist" || dataset == "fashion_mnist" || dataset == "fashionmnist") {
    t.dataset = "fashion-mnist";
    t.data_dir = data_dir.empty() ? data::default_fashion_mnist_dir() : data_dir;
    t.classes = data::fashion_mnist_classes();
    t.mean = 0.2860;
    t.std = 0.3530;
  } else if (dataset == "mnist") {
    KILN_CHECK(!data_dir.empty(), "--dataset mnist needs --data DIR (a folder with train-images-idx3-ubyte[.gz], "
                                  "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])");
    t.data_dir = data_dir;
    for (int i = 0; i < 10; ++i) t.classes.push_back(std::to_string(i));
    t.mean = 0.1307;
    t.std = 0.3081;
  } else {
    throw ValueError("unknown dataset '" + dataset + "'; expected fashion-mnist or mnist");
  }
  return t;
}

Split load_split(const Task& task, bool train) {
  data::MNIST ds(task.data_dir, train);
  Split s;
  // Normalising once here is cheaper than a per-batch transform: the whole split fits in memory.
  s.images = ((ds.images().reshape({ds.size(), 28 * 28}) - task.mean) / task.std).contiguous();
  s.labels = ds.labels();
  s.images_path = ds.images_path();
  return s;
}

namespace {
// The whole of `text` as a base-10 integer; false for empty text, trailing characters or an out-of-range value.
bool parse_whole_number(const std::string& text, long long& v) {
  size_t used = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return !text.empty() && used == text.size();
}
}  // namespace

int64_t parse_metadata_int(const std::string& text, const std::string& key, const std::string& path) {
  long long v = 0;
  KILN_CHECK_T(IOError, parse_whole_number(text, v), "checkpoint '", path, "': metadata '", key,
               "' should be a whole number, got '", text.substr(0, 40), "' (corrupt or edited checkpoint?)");
  return v;
}

std::vector<int64_t> parse_hidden(const std::string& text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    size_t comma = text.find(',', pos);
    std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    long long v = 0;
    KILN_CHECK(parse_whole_number(part, v) && v > 0 && v <= (1 << 20), "--hidden '", text,
               "': expected comma-separated positive layer widths such as 256,128");
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

nn::Sequential build_mlp(int64_t inputs, const std::vector<int64_t>& hidden, int64_t classes) {
  nn::Sequential model;
  int64_t width = inputs;
  for (int64_t h : hidden) {
    model->push_back(nn::Linear(width, h));
    model->push_back(nn::ReLU());
    width = h;
  }
  model->push_back(nn::Linear(width, classes));
  return model;
}

nn::Sequential build_cnn(int64_t classes) {
  nn::Sequential model;
  int64_t channels = 1;
  for (int64_t width : {32, 64}) {
    model->push_back(nn::Conv2d(nn::Conv2dOptions(channels, width, 3).padding(1)));
    model->push_back(nn::BatchNorm2d(width));
    model->push_back(nn::ReLU());
    model->push_back(nn::MaxPool2d(2));
    channels = width;
  }
  model->push_back(nn::Flatten());
  model->push_back(nn::Linear(channels * 7 * 7, 128));  // 28 -> 14 -> 7
  model->push_back(nn::ReLU());
  model->push_back(nn::Linear(128, classes));
  return model;
}

nn::Sequential build_model(const std::string& name, const std::vector<int64_t>& hidden, int64_t classes) {
  if (name == "mlp") return build_mlp(28 * 28, hidden, classes);
  if (name == "cnn") return build_cnn(classes);
  throw ValueError("unknown model '" + name + "'; expected mlp or cnn");
}

Shape model_input_shape(const std::string& name) { return name == "cnn" ? Shape{1, 28, 28} : Shape{28 * 28}; }

std::pair<Device, std::string> choose_device(const std::string& spec) {
  if (spec == "auto") {
    if (cuda::is_available()) return {Device("cuda:0"), "auto: using GPU cuda:0 (" + cuda::device_name(0) + ")"};
    return {Device("cpu"), "auto: using the CPU (no usable GPU: " + cuda::unavailable_reason() + ")"};
  }
  Device d = resolve_device(Device(spec));
  if (d.is_cuda()) return {d, "using " + d.str() + " (" + cuda::device_name(d.index()) + ")"};
  return {d, "using the CPU"};
}
}  // namespace kiln::cli
