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
  // Normalising once here is cheaper than a per-batch transform: the whole split fits in memory. In place, on
  // the dataset's own (contiguous) tensor: out-of-place ops made two more full-size float copies (2 x 188 MB
  // for Fashion-MNIST's training set) that only raised the peak and then sat in the allocator's cache.
  s.images = ds.images().reshape({ds.size(), 28 * 28});
  s.images.sub_(task.mean).div_(task.std);
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

std::string checkpoint_meta(const Checkpoint& ck, const std::string& key, const std::string& path) {
  auto it = ck.metadata.find(key);
  KILN_CHECK_T(IOError, it != ck.metadata.end(), "checkpoint '", path, "' has no '", key,
               "' in its metadata: it was not written by `kiln train`");
  return it->second;
}

nn::Sequential model_from_checkpoint(const Checkpoint& ck, const std::string& path, Device device) {
  const std::string model = checkpoint_meta(ck, "model", path);
  KILN_CHECK(model == "mlp" || model == "cnn" || model == "resnet", "checkpoint '", path, "': model '",
             model.substr(0, 40), "' is not supported (expected mlp, cnn or resnet)");
  const int64_t classes = parse_metadata_int(checkpoint_meta(ck, "classes", path), "classes", path);
  KILN_CHECK_T(IOError, classes >= 2 && classes <= 100000, "checkpoint '", path, "': metadata 'classes' is ", classes,
               ", not a class count");
  if (model == "cnn" || model == "resnet") {  // fixed widths: the class count bounds the size, restore checks shapes
    nn::Sequential net = model == "cnn" ? build_cnn(classes) : build_resnet(classes);
    net->to(device);
    try {
      restore(ck, *net);
    } catch (const ValueError& e) {  // missing, extra or misshapen tensors: say which file and which model
      throw IOError("checkpoint '" + path + "': its weights are not those of the " + model + " it names in its "
                    "metadata (corrupt or edited checkpoint?): " + e.what());
    }
    return net;
  }
  std::vector<int64_t> widths;
  try {
    widths = parse_hidden(checkpoint_meta(ck, "hidden", path));
  } catch (const ValueError&) {
    throw IOError("checkpoint '" + path + "': metadata 'hidden' should be comma-separated layer widths such as "
                  "256,128, got '" + checkpoint_meta(ck, "hidden", path).substr(0, 40) + "'");
  }
  widths.push_back(classes);
  // Linear layers sit at the even indices of the Sequential (a ReLU follows each hidden one).
  int64_t in = 28 * 28;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string key = std::to_string(2 * i) + ".weight";
    auto it = ck.model.find(key);
    const Shape want{widths[i], in};
    KILN_CHECK_T(IOError, it != ck.model.end() && it->second.sizes() == want,
                 "checkpoint '", path, "': its metadata describes layer ", i + 1, " as ", in, " -> ", widths[i],
                 " inputs -> outputs, but tensor '", key, "' ",
                 it == ck.model.end() ? std::string("is missing") : "has shape " + it->second.shape_str(),
                 " (corrupt or edited checkpoint?)");
    in = widths[i];
  }
  widths.pop_back();
  nn::Sequential net = build_mlp(28 * 28, widths, classes);
  net->to(device);
  restore(ck, *net);
  return net;
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

nn::Sequential build_resnet(int64_t classes) {
  nn::Sequential model;
  model->push_back(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1).bias(false)));  // stem, 28x28
  model->push_back(nn::BatchNorm2d(32));
  model->push_back(nn::ReLU());
  model->push_back(nn::ResidualBlock(32, 32));              // 28x28, identity shortcut
  model->push_back(nn::ResidualBlock(32, 64, /*stride=*/2));   // 14x14, 1x1 projection shortcut
  model->push_back(nn::ResidualBlock(64, 128, /*stride=*/2));  // 7x7, 1x1 projection shortcut
  model->push_back(nn::AdaptiveAvgPool2d(1));
  model->push_back(nn::Flatten());
  model->push_back(nn::Linear(128, classes));
  return model;
}

nn::Sequential build_model(const std::string& name, const std::vector<int64_t>& hidden, int64_t classes) {
  if (name == "mlp") return build_mlp(28 * 28, hidden, classes);
  if (name == "cnn") return build_cnn(classes);
  if (name == "resnet") return build_resnet(classes);
  throw ValueError("unknown model '" + name + "'; expected mlp, cnn or resnet");
}

Shape model_input_shape(const std::string& name) { return name == "mlp" ? Shape{28 * 28} : Shape{1, 28, 28}; }

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
