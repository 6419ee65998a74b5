// Tests for kiln::save / kiln::load: every dtype, views, 0-dim and empty tensors, metadata, map_location,
// damaged files, failed saves, and files written by PyTorch (tests/data/torch_reference.safetensors).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/file_size_limit.h"
#include "io/safetensors_format.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/core/half.h"
#include "kiln/cuda/cuda.h"
#include "kiln/io/serialize.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"
#include "kiln/version.h"
#include "test_device.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// A fresh directory per test, removed afterwards.
fs::path test_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  for (char& c : name)
    if (c == '/') c = '_';
  fs::path d = fs::path(testing::TempDir()) / ("kiln_ser_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary | std::ios::trunc) << s; }

// The tensor's elements as bytes, row-major, on the host: equal bytes mean bit-identical values.
std::vector<uint8_t> raw_bytes(const Tensor& t) {
  Tensor h = t.detach().contiguous().cpu().contiguous();
  std::vector<uint8_t> out(h.nbytes());
  if (!out.empty()) std::memcpy(out.data(), h.data_ptr(), out.size());
  return out;
}

// One tensor of every dtype, with edge values (extremes, subnormals, inf, nan, -0).
StateDict every_dtype(const TensorOptions& o) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  StateDict d;
  d["f32"] = tensor<float>({1.5f, -0.0f, 3.4e38f, 1e-45f, float(inf), float(nan)}, {2, 3}, o.dtype(kFloat32));
  d["f64"] = tensor<double>({3.141592653589793, -1e-310, 1e308, nan}, {4}, o.dtype(kFloat64));
  d["f16"] = tensor<Half>({Half(1.0f), Half(-2.5f), Half(65504.0f), Half(5.96e-8f), Half(float(nan))}, {5},
                          o.dtype(kFloat16));
  d["bf16"] = tensor<BFloat16>({BFloat16(1.0f), BFloat16(-3.140625f), BFloat16(float(-inf))}, {1, 3},
                               o.dtype(kBFloat16));
  d["i32"] = tensor<int32_t>({INT32_MIN, -1, 0, INT32_MAX}, {2, 2}, o.dtype(kInt32));
  d["i64"] = tensor<int64_t>({INT64_MIN, -5, INT64_MAX}, {3}, o.dtype(kInt64));
  d["u8"] = tensor<uint8_t>({0, 1, 128, 255}, {4}, o.dtype(kUInt8));
  d["mask"] = tensor<bool>({true, false, false, true, true, false}, {3, 2}, o.dtype(kBool));
  return d;
}

void expect_same(const Tensor& got, const Tensor& want, const std::string& name) {
  ASSERT_TRUE(got.defined()) << name;
  EXPECT_EQ(got.dtype(), want.dtype()) << name;
  EXPECT_EQ(got.sizes(), want.sizes()) << name;
  EXPECT_EQ(raw_bytes(got), raw_bytes(want)) << name << ": values differ";
  if (got.numel() > 0) EXPECT_TRUE(got.is_contiguous()) << name;  // an empty tensor has no layout to speak of
  EXPECT_FALSE(got.requires_grad()) << name;
}

// ---- on every device ----

class SerializeDevice : public test::DeviceTest {
 protected:
  void SetUp() override { dir_ = test_dir(); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_P(SerializeDevice, RoundTripsEveryDtype) {
  KILN_SKIP_IF_NO_DEVICE();
  StateDict d = every_dtype(opts());
  save(d, path("all.safetensors"));
  StateDict back = load(path("all.safetensors"), dev());
  ASSERT_EQ(back.size(), d.size());
  for (const auto& [name, t] : d) {
    expect_same(back.at(name), t, name);
    EXPECT_EQ(back.at(name).device(), resolve_device(dev())) << name;
  }
}

TEST_P(SerializeDevice, MapLocationMovesBetweenCpuAndDevice) {
  KILN_SKIP_IF_NO_DEVICE();
  Generator gen(1234);
  Tensor on_dev = randn({5, 7}, opts(), &gen);
  save(StateDict{{"w", on_dev}}, path("from_dev.safetensors"));
  Tensor on_cpu = load(path("from_dev.safetensors")).at("w");  // default map_location: cpu
  EXPECT_TRUE(on_cpu.is_cpu());
  expect_same(on_cpu, on_dev, "w");

  save(StateDict{{"w", on_cpu}}, path("from_cpu.safetensors"));
  Tensor back = load(path("from_cpu.safetensors"), dev()).at("w");
  EXPECT_EQ(back.device(), resolve_device(dev()));
  expect_same(back, on_dev, "w");
}

TEST_P(SerializeDevice, ViewsSaveOnlyTheirOwnValues) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor base = arange(0, 24, 1, opts(kFloat32)).reshape({2, 3, 4});
  StateDict views = {{"transposed", base.transpose(0, 2)},
                     {"strided", base.slice(2, 0, 4, 2)},
                     {"narrowed", base.narrow(1, 1, 2)},
                     {"selected", base.select(0, 1)},
                     {"expanded", arange(0, 3, 1, opts(kFloat32)).reshape({3, 1}).expand({3, 4})}};
  for (const auto& kv : views) {
    if (kv.first != "selected") ASSERT_FALSE(kv.second.is_contiguous()) << kv.first;
  }
  save(views, path("views.safetensors"));
  StateDict back = load(path("views.safetensors"), dev());
  for (const auto& [name, v] : views) {
    expect_same(back.at(name), v, name);
    EXPECT_EQ(back.at(name).to_vector<float>(), v.to_vector<float>()) << name;
  }
  // Only the views' elements reach the file, not the 24-element storage they share (nor 12 copies of expand's 3).
  int64_t elements = 0;
  for (const auto& e : io::read_safetensors(path("views.safetensors")).entries)
    elements += static_cast<int64_t>(e.bytes.size() / 4);
  EXPECT_EQ(elements, 24 + 12 + 16 + 12 + 12);
}

TEST_P(SerializeDevice, ZeroDimAndEmptyTensors) {
  KILN_SKIP_IF_NO_DEVICE();
  StateDict d = {{"scalar", scalar_tensor(2.5, opts(kFloat64))},
                 {"int_scalar", scalar_tensor(-7, opts(kInt64))},
                 {"empty", empty({0}, opts(kFloat32))},
                 {"empty_2d", zeros({3, 0}, opts(kFloat16))},
                 {"empty_bool", empty({0, 2, 0}, opts(kBool))}};
  save(d, path("small.safetensors"));
  StateDict back = load(path("small.safetensors"), dev());
  for (const auto& [name, t] : d) expect_same(back.at(name), t, name);
  EXPECT_EQ(back.at("scalar").dim(), 0);
  EXPECT_EQ(back.at("scalar").item<double>(), 2.5);
  EXPECT_EQ(back.at("int_scalar").item<int64_t>(), -7);
  EXPECT_EQ(back.at("empty_bool").sizes(), (Shape{0, 2, 0}));
  // An empty state dict is a valid file too.
  save(StateDict{}, path("none.safetensors"));
  EXPECT_TRUE(load(path("none.safetensors"), dev()).empty());
}

TEST_P(SerializeDevice, SingleTensorConvenience) {
  KILN_SKIP_IF_NO_DEVICE();
  Tensor t = tensor<double>({1, 2, 3, 4, 5, 6}, {2, 3}, opts(kFloat64)).t();
  save(t, path("one.safetensors"));
  Tensor back = load_tensor(path("one.safetensors"), dev());
  EXPECT_EQ(back.device(), resolve_device(dev()));
  expect_same(back, t, "tensor");
  EXPECT_EQ(load(path("one.safetensors")).count("tensor"), 1u);
}

INSTANTIATE_DEVICE_TESTS(SerializeDevice);

// ---- host-only behaviour ----

class Serialize : public testing::Test {
 protected:
  void SetUp() override { dir_ = test_dir(); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t files_in_dir() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {})); }
  template <typename E, typename F>
  std::string error_of(F&& f) {
    try {
      f();
    } catch (const E& e) {
      return e.what();
    }
    ADD_FAILURE() << "the expected exception was not thrown";
    return "";
  }
  fs::path dir_;
};

TEST_F(Serialize, MetadataRoundTripsWithKilnStamp) {
  std::map<std::string, std::string> md = {{"epoch", "12"}, {"note", "héllo \"quoted\"\n"}};
  save(StateDict{{"a", ones({2})}}, path("m.safetensors"), md);
  std::map<std::string, std::string> got;
  load(path("m.safetensors"), Device("cpu"), &got);
  EXPECT_EQ(got.at("epoch"), "12");
  EXPECT_EQ(got.at("note"), md.at("note"));
  EXPECT_EQ(got.at("format"), "kiln");
  EXPECT_EQ(got.at("kiln_version"), KILN_VERSION);
  EXPECT_EQ(got.size(), 4u);
}

TEST_F(Serialize, UserFormatIsKeptButVersionIsAlwaysTheWriters) {
  // Hugging Face loaders insist on "format": "pt"; a stale version copied from an old file must not survive.
  save(StateDict{{"a", ones({1})}}, path("m.safetensors"), {{"format", "pt"}, {"kiln_version", "0.0.0-old"}});
  std::map<std::string, std::string> got = {{"stale", "cleared"}};
  load(path("m.safetensors"), Device("cpu"), &got);
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"format", "pt"}, {"kiln_version", KILN_VERSION}}));
}

TEST_F(Serialize, EntriesAreOrderedByElementSizeThenNameAndAligned) {
  StateDict d = {{"b_u8", zeros({3}, kUInt8)},   {"a_f16", zeros({3}, kFloat16)}, {"z_f64", zeros({1}, kFloat64)},
                 {"c_i32", zeros({1}, kInt32)},  {"a_i64", zeros({1}, kInt64)},   {"y_bool", zeros({1}, kBool)},
                 {"b_bf16", zeros({1}, kBFloat16)}, {"a_f32", zeros({1}, kFloat32)}};
  save(d, path("o.safetensors"));
  std::vector<std::string> order;
  for (const auto& e : io::read_safetensors(path("o.safetensors")).entries) order.push_back(e.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a_i64", "z_f64", "a_f32", "c_i32", "a_f16", "b_bf16", "b_u8", "y_bool"}));
  // Offsets in the header are multiples of the element size, and the data starts 8-aligned.
  const std::string raw = slurp(path("o.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(raw[i]);
  EXPECT_EQ(n % 8, 0u);
  auto header = nlohmann::json::parse(raw.substr(8, n));
  for (const auto& [name, t] : d) {
    const uint64_t begin = header.at(name).at("data_offsets")[0].get<uint64_t>();
    EXPECT_EQ(begin % t.element_size(), 0u) << name;
  }
}

TEST_F(Serialize, TensorsRequiringGradSaveTheirValues) {
  Tensor w = tensor<double>({1, 2, 3}, {3}, kFloat64);
  w.requires_grad_();
  save(StateDict{{"w", w}}, path("g.safetensors"));
  Tensor back = load(path("g.safetensors")).at("w");
  expect_same(back, w.detach(), "w");
}

TEST_F(Serialize, LoadTensorNamesTheKeysAFileHas) {
  save(StateDict{{"alpha", ones({1})}, {"beta", ones({1})}}, path("two.safetensors"));
  const std::string msg = error_of<IOError>([&] { load_tensor(path("two.safetensors")); });
  EXPECT_TRUE(has_substr(msg, path("two.safetensors")));
  EXPECT_TRUE(has_substr(msg, "no tensor named 'tensor'"));
  EXPECT_TRUE(has_substr(msg, "'alpha', 'beta'"));
}

TEST_F(Serialize, UndefinedTensorIsRefusedBeforeWriting) {
  const std::string msg = error_of<ValueError>([&] { save(StateDict{{"ok", ones({1})}, {"hole", Tensor()}}, path("u")); });
  EXPECT_TRUE(has_substr(msg, "'hole' is undefined"));
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(Serialize, BadNamesAndMissingDirectoryAreIOErrors) {
  EXPECT_TRUE(has_substr(error_of<IOError>([&] { save(StateDict{{"", ones({1})}}, path("e")); }), "empty name"));
  EXPECT_TRUE(has_substr(error_of<IOError>([&] { save(StateDict{{"__metadata__", ones({1})}}, path("e")); }),
                         "reserved"));
  const std::string missing = path("no/such/dir/x.safetensors");
  EXPECT_TRUE(has_substr(error_of<IOError>([&] { save(ones({1}), missing); }), missing));
  EXPECT_TRUE(has_substr(error_of<IOError>([&] { load(path("absent.safetensors")); }), "cannot open"));
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(Serialize, DeviceThatDoesNotExistIsADeviceError) {
  save(ones({2}), path("d.safetensors"));
  // No machine has 100000 GPUs; on a CPU-only machine any CUDA device fails the same way.
  EXPECT_THROW(load(path("d.safetensors"), Device("cuda:99999")), DeviceError);
  EXPECT_THROW(load_tensor(path("d.safetensors"), Device("cuda:99999")), DeviceError);
  // Checked before the file: a wrong device is reported even when the path is also wrong.
  EXPECT_THROW(load(path("absent.safetensors"), Device("cuda:99999")), DeviceError);
  if (!cuda::is_available()) EXPECT_THROW(load(path("d.safetensors"), Device("cuda")), DeviceError);
}

TEST_F(Serialize, TruncatedFileIsRefused) {
  Generator gen(7);
  save(StateDict{{"w", randn({64}, {}, &gen)}, {"b", randn({8}, kFloat64, &gen)}}, path("t.safetensors"));
  const std::string full = slurp(path("t.safetensors"));
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<uint8_t>(full[i]);
  const size_t cuts[] = {full.size() - 1, full.size() - 100, 8 + header + 3, 8 + header / 2, 5, 0};
  for (size_t cut : cuts) {
    spit(path("cut.safetensors"), full.substr(0, cut));
    const std::string msg = error_of<IOError>([&] { load(path("cut.safetensors")); });
    EXPECT_TRUE(has_substr(msg, path("cut.safetensors"))) << "cut at " << cut;
  }
  spit(path("cut.safetensors"), full.substr(0, full.size() - 4));
  EXPECT_TRUE(has_substr(error_of<IOError>([&] { load(path("cut.safetensors")); }), "out of range"));
}

TEST_F(Serialize, CorruptedHeaderIsRefused) {
  save(StateDict{{"w", ones({4})}}, path("c.safetensors"));
  const std::string good = slurp(path("c.safetensors"));
  auto refuses = [&](std::string bad, const std::string& why) {
    spit(path("bad.safetensors"), bad);
    const std::string msg = error_of<IOError>([&] { load(path("bad.safetensors")); });
    EXPECT_TRUE(has_substr(msg, why)) << msg;
  };
  std::string s = good;
  s[8] = 'x';  // the JSON's opening brace
  refuses(s, "header is not valid JSON");
  s = good;
  s.replace(s.find("F32"), 3, "F31");
  refuses(s, "unknown or unsupported dtype");
  s = good;
  s.replace(s.find("[4]"), 3, "[5]");
  refuses(s, "needs 20 bytes");
  s = good;
  s[7] = '\x7f';  // a header length of about 9e18
  refuses(s, "larger than the 100 MB limit");
}

TEST_F(Serialize, FailedSaveKeepsThePreviousFile) {
  const std::string p = path("model.safetensors");
  save(StateDict{{"w", full({4}, 1.0)}}, p, {{"epoch", "1"}});
  const std::string before = slurp(p);
  std::string msg;
  {
    // The bigger new file cannot be written (EFBIG, as ENOSPC on a full disk). Assertions wait until the limit
    // is lifted, so that gtest can print them even when its output goes to a large file.
    test::FileSizeLimit limit(before.size() + 64);
    if (!limit.ok()) GTEST_SKIP() << "cannot lower RLIMIT_FSIZE here";
    msg = error_of<IOError>([&] { save(StateDict{{"w", full({4096}, 2.0)}}, p, {{"epoch", "2"}}); });
  }
  EXPECT_TRUE(has_substr(msg, p));
  EXPECT_TRUE(has_substr(msg, "File too large"));
  EXPECT_EQ(slurp(p), before);
  std::map<std::string, std::string> md;
  EXPECT_EQ(load(p, Device("cpu"), &md).at("w").to_vector<float>(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(md.at("epoch"), "1");
  EXPECT_EQ(files_in_dir(), 1u) << "the temporary file was left behind";
}

TEST_F(Serialize, BoolBytesOtherThanOneLoadAsTrue) {
  io::SafetensorsFile f;
  f.entries.push_back({"m", DType::Bool, {4}, {0, 2, 255, 1}});
  io::write_safetensors(path("b.safetensors"), f);
  StateDict d = load(path("b.safetensors"));
  EXPECT_EQ(raw_bytes(d.at("m")), (std::vector<uint8_t>{0, 1, 1, 1}));
}

// ---- interoperability with PyTorch (scripts/gen_safetensors_reference.py) ----

const std::string kReference = kiln::test::data_dir() + "/torch_reference.safetensors";

std::vector<uint16_t> bits16(const Tensor& t) {
  std::vector<uint8_t> b = raw_bytes(t);
  std::vector<uint16_t> out(b.size() / 2);
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

TEST(SerializeTorch, LoadsAFilePyTorchWrote) {
  std::map<std::string, std::string> md;
  StateDict d = load(kReference, Device("cpu"), &md);
  EXPECT_EQ(md, (std::map<std::string, std::string>{{"format", "pt"},
                                                    {"source", "scripts/gen_safetensors_reference.py"}}));
  ASSERT_EQ(d.size(), 11u);
  std::vector<float> f32;
  for (int i = 0; i < 12; ++i) f32.push_back(i * 0.5f - 1.0f);
  EXPECT_EQ(d.at("f32").sizes(), (Shape{3, 4}));
  EXPECT_EQ(d.at("f32").to_vector<float>(), f32);
  EXPECT_EQ(d.at("f64").dtype(), kFloat64);
  EXPECT_EQ(raw_bytes(d.at("f64")),
            raw_bytes(tensor<double>({3.141592653589793, -2.718281828459045, 1e300, -0.0, 5e-324})));
  EXPECT_EQ(d.at("f16").dtype(), kFloat16);
  EXPECT_EQ(bits16(d.at("f16")),
            (std::vector<uint16_t>{0x3c00, 0xc100, 0x7bff, 0x0400, 0x0001, 0x7c00, 0xfc00, 0x7e00}));
  EXPECT_EQ(d.at("bf16").dtype(), kBFloat16);
  EXPECT_EQ(bits16(d.at("bf16")), (std::vector<uint16_t>{0x3f80, 0xc049, 0x7f7f, 0x0001, 0xff80, 0x7fc0}));
  EXPECT_EQ(d.at("i32").sizes(), (Shape{2, 2}));
  EXPECT_EQ(d.at("i32").to_vector<int32_t>(), (std::vector<int32_t>{INT32_MIN, -1, 0, INT32_MAX}));
  EXPECT_EQ(d.at("i64").to_vector<int64_t>(), (std::vector<int64_t>{INT64_MIN, -5, 0, INT64_MAX}));
  EXPECT_EQ(d.at("u8").to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 127, 128, 255}));
  EXPECT_EQ(d.at("mask").dtype(), kBool);
  EXPECT_EQ(d.at("mask").sizes(), (Shape{2, 3}));
  EXPECT_EQ(raw_bytes(d.at("mask")), (std::vector<uint8_t>{1, 0, 1, 0, 0, 1}));
  EXPECT_EQ(d.at("scalar").dim(), 0);
  EXPECT_EQ(d.at("scalar").item<float>(), 42.0f);
  EXPECT_EQ(d.at("empty").sizes(), (Shape{0, 3}));
  EXPECT_EQ(d.at("layer.0.weight_t").sizes(), (Shape{3, 2}));
  EXPECT_EQ(d.at("layer.0.weight_t").to_vector<double>(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

// Re-saves the reference tensors; scripts/gen_safetensors_reference.py `check` reads the result with PyTorch.
// Set KILN_SAFETENSORS_OUT to keep the file for that check.
TEST(SerializeTorch, WritesAFileTorchReads) {
  StateDict d = load(kReference);
  const char* env = std::getenv("KILN_SAFETENSORS_OUT");
  const fs::path dir = test_dir();
  const std::string out = env && *env ? std::string(env) : (dir / "kiln.safetensors").string();
  save(d, out);
  StateDict back = load(out);
  ASSERT_EQ(back.size(), d.size());
  for (const auto& [name, t] : d) expect_same(back.at(name), t, name);
  fs::remove_all(dir);
}

}  // namespace
