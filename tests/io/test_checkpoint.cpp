// Tests for save_checkpoint / load_checkpoint / restore: exact resume of model and optimizer, map_location,
// damaged files, and a previous checkpoint surviving a failed save.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/file_size_limit.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/io/checkpoint.h"
#include "kiln/io/serialize.h"
#include "kiln/nn/module.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/sgd.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/state_dict.h"
#include "kiln/tensor/tensor.h"
#include "test_device.h"

namespace fs = std::filesystem;
using namespace kiln;

namespace {

testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<uint8_t> raw_bytes(const Tensor& t) {
  Tensor h = t.detach().contiguous().cpu().contiguous();
  std::vector<uint8_t> out(h.nbytes());
  if (!out.empty()) std::memcpy(out.data(), h.data_ptr(), out.size());
  return out;
}

// Same keys, and per key the same dtype, shape and bits.
void expect_same_state(const StateDict& got, const StateDict& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, t] : want) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << "missing " << key;
    EXPECT_EQ(it->second.dtype(), t.dtype()) << key;
    EXPECT_EQ(it->second.sizes(), t.sizes()) << key;
    EXPECT_EQ(raw_bytes(it->second), raw_bytes(t)) << key;
  }
}

// A model with nested parameters and buffers of several dtypes, built from nn::Module alone.
struct Head : nn::Module {
  Tensor scale;
  explicit Head(Generator& g) { scale = register_parameter("scale", randn({2}, {}, &g)); }
};
struct Net : nn::Module {
  Tensor weight, bias, seen, mask;
  std::shared_ptr<Head> head;
  explicit Net(uint64_t seed) {
    Generator g(seed);
    weight = register_parameter("weight", randn({3, 2}, {}, &g));
    bias = register_parameter("bias", randn({2}, kFloat64, &g));
    seen = register_buffer("seen", tensor<int64_t>({static_cast<int64_t>(seed), -1}, {2}));
    mask = register_buffer("mask", tensor<bool>({seed % 2 == 0, true, false}, {3}));
    head = register_module("head", std::make_shared<Head>(g));
  }
};

// Deterministic gradients for every parameter, different per step.
void set_grads(Net& net, int step) {
  for (Tensor p : net.parameters()) {
    Generator g(1000 + step);
    p.set_grad(randn(p.sizes(), p.options().requires_grad(false), &g));
  }
}

// A fresh directory per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    dir_ = fs::path(testing::TempDir()) / ("kiln_ckpt_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t files_in_dir() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {})); }

 private:
  fs::path dir_;
};

class CheckpointTest : public test::DeviceTest {
 protected:
  std::string path(const std::string& name) const { return dir_.path(name); }
  ScratchDir dir_;
};

TEST_P(CheckpointTest, ResumedTrainingMatchesUninterruptedTraining) {
  KILN_SKIP_IF_NO_DEVICE();
  auto a = std::make_shared<Net>(1);
  a->to(dev());
  optim::Adam opt_a(a->parameters(), optim::AdamOptions(0.05).weight_decay(0.01));
  for (int step = 0; step < 2; ++step) {
    set_grads(*a, step);
    opt_a.step();
  }
  save_checkpoint(path("ckpt.safetensors"), *a, &opt_a, {{"epoch", "2"}});

  // A differently initialised model and an optimizer with other options become exact copies.
  auto b = std::make_shared<Net>(2);
  b->to(dev());
  optim::Adam opt_b(b->parameters(), optim::AdamOptions(0.5));
  Checkpoint ckpt = load_checkpoint(path("ckpt.safetensors"), dev());
  EXPECT_EQ(ckpt.metadata.at("epoch"), "2");
  EXPECT_EQ(ckpt.metadata.at("format"), "kiln");
  for (const auto& kv : ckpt.model) EXPECT_EQ(kv.second.device(), resolve_device(dev())) << kv.first;
  restore(ckpt, *b, &opt_b);
  expect_same_state(b->state_dict(), a->state_dict());
  expect_same_state(opt_b.state_dict(), opt_a.state_dict());
  EXPECT_EQ(opt_b.param_groups()[0].options().get_lr(), 0.05);

  // The next step is bit-identical: the moments and step counts came back too.
  set_grads(*a, 2);
  set_grads(*b, 2);
  opt_a.step();
  opt_b.step();
  expect_same_state(b->state_dict(), a->state_dict());
}

TEST_P(CheckpointTest, MapLocationCpuRestoresIntoADeviceModel) {
  KILN_SKIP_IF_NO_DEVICE();
  auto a = std::make_shared<Net>(3);
  a->to(dev());
  optim::SGD opt_a(a->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  set_grads(*a, 0);
  opt_a.step();
  save_checkpoint(path("c.safetensors"), *a, &opt_a);

  Checkpoint ckpt = load_checkpoint(path("c.safetensors"));  // cpu by default
  for (const auto& kv : ckpt.model) EXPECT_TRUE(kv.second.is_cpu()) << kv.first;
  for (const auto& kv : ckpt.optimizer) EXPECT_TRUE(kv.second.is_cpu()) << kv.first;
  auto b = std::make_shared<Net>(4);
  b->to(dev());
  optim::SGD opt_b(b->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  restore(ckpt, *b, &opt_b);
  for (const Tensor& p : b->parameters()) EXPECT_EQ(p.device(), resolve_device(dev()));
  expect_same_state(b->state_dict(), a->state_dict());
  expect_same_state(opt_b.state_dict(), opt_a.state_dict());
}

INSTANTIATE_DEVICE_TESTS(CheckpointTest);

class CheckpointHost : public testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.path(name); }
  size_t files_in_dir() const { return dir_.files_in_dir(); }
  ScratchDir dir_;
};

TEST_F(CheckpointHost, FileHoldsPrefixedKeysReadableAsAPlainStateDict) {
  Net net(5);
  optim::Adam opt(net.parameters());
  set_grads(net, 0);
  opt.step();
  save_checkpoint(path("c.safetensors"), net, &opt);
  StateDict all = load(path("c.safetensors"));
  size_t model_keys = 0, optimizer_keys = 0;
  for (const auto& kv : all) {
    model_keys += kv.first.rfind("model.", 0) == 0;
    optimizer_keys += kv.first.rfind("optimizer.", 0) == 0;
  }
  EXPECT_EQ(model_keys, net.state_dict().size());
  EXPECT_EQ(optimizer_keys, opt.state_dict().size());
  EXPECT_EQ(model_keys + optimizer_keys, all.size());
  EXPECT_EQ(all.count("model.head.scale"), 1u);
  EXPECT_EQ(all.count("optimizer.param_groups.0.lr"), 1u);
}

TEST_F(CheckpointHost, ModelOnlyCheckpoint) {
  Net a(6), b(7);
  save_checkpoint(path("m.safetensors"), a);
  Checkpoint ckpt = load_checkpoint(path("m.safetensors"));
  EXPECT_TRUE(ckpt.optimizer.empty());
  optim::SGD opt(b.parameters(), optim::SGDOptions(0.1));
  // Asking for optimizer state that is not there is refused before the model changes.
  EXPECT_THROW(restore(ckpt, b, &opt), ValueError);
  EXPECT_NE(raw_bytes(b.weight), raw_bytes(a.weight));
  restore(ckpt, b);
  expect_same_state(b.state_dict(), a.state_dict());
}

TEST_F(CheckpointHost, StrictIsPassedToTheModel) {
  Net a(8);
  save_checkpoint(path("m.safetensors"), a);
  Checkpoint ckpt = load_checkpoint(path("m.safetensors"));
  ckpt.model.erase("bias");
  Net b(9);
  try {
    restore(ckpt, b);
    ADD_FAILURE() << "strict restore with a missing key did not throw";
  } catch (const ValueError& e) {
    EXPECT_TRUE(has_substr(e.what(), "bias"));
  }
  const std::vector<uint8_t> bias_before = raw_bytes(b.bias);
  restore(ckpt, b, nullptr, /*strict=*/false);
  EXPECT_EQ(raw_bytes(b.weight), raw_bytes(a.weight));
  EXPECT_EQ(raw_bytes(b.bias), bias_before);
}

TEST_F(CheckpointHost, PreviousCheckpointSurvivesAFailedSave) {
  Net good(10);
  save_checkpoint(path("ckpt.safetensors"), good, nullptr, {{"epoch", "1"}});
  const std::string before = slurp(path("ckpt.safetensors"));

  // A much bigger model cannot be written: the file size limit makes write() fail (EFBIG), as a full disk would.
  struct Big : nn::Module {
    Big() { register_parameter("weight", zeros({1 << 14})); }
  } big;
  std::string msg;
  {
    test::FileSizeLimit limit(before.size() + 256);
    if (!limit.ok()) GTEST_SKIP() << "cannot lower RLIMIT_FSIZE here";
    try {
      save_checkpoint(path("ckpt.safetensors"), big, nullptr, {{"epoch", "2"}});
    } catch (const IOError& e) {
      msg = e.what();
    }
  }
  EXPECT_TRUE(has_substr(msg, path("ckpt.safetensors")));
  EXPECT_EQ(slurp(path("ckpt.safetensors")), before);
  EXPECT_EQ(files_in_dir(), 1u) << "the temporary file was left behind";
  Checkpoint ckpt = load_checkpoint(path("ckpt.safetensors"));
  EXPECT_EQ(ckpt.metadata.at("epoch"), "1");
  Net fresh(11);
  restore(ckpt, fresh);
  expect_same_state(fresh.state_dict(), good.state_dict());
}

TEST_F(CheckpointHost, DamagedCheckpointsAreRefused) {
  Net net(12);
  optim::Adam opt(net.parameters());
  save_checkpoint(path("c.safetensors"), net, &opt);
  const std::string good = slurp(path("c.safetensors"));
  auto refused = [&](const std::string& bytes) -> std::string {
    std::ofstream(path("bad.safetensors"), std::ios::binary) << bytes;
    try {
      load_checkpoint(path("bad.safetensors"));
    } catch (const IOError& e) {
      EXPECT_TRUE(has_substr(e.what(), path("bad.safetensors")));
      return e.what();
    }
    ADD_FAILURE() << "load_checkpoint accepted a damaged file";
    return "";
  };
  refused(good.substr(0, good.size() - 3));               // truncated in the data
  refused(good.substr(0, good.size() / 3));               // truncated in the header or just after it
  std::string s = good;
  s[8] = '[';                                             // header no longer a JSON object
  refused(s);
  s = good;
  s.replace(s.find("\"dtype\""), 7, "\"dtypx\"");         // an entry without its dtype
  EXPECT_TRUE(has_substr(refused(s), "missing 'dtype'"));
}

TEST_F(CheckpointHost, PlainStateDictIsNotACheckpoint) {
  Net net(13);
  save(net.state_dict(), path("plain.safetensors"));
  try {
    load_checkpoint(path("plain.safetensors"));
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_TRUE(has_substr(e.what(), "not a kiln checkpoint"));
    EXPECT_TRUE(has_substr(e.what(), path("plain.safetensors")));
  }
}

TEST_F(CheckpointHost, MissingDeviceIsADeviceError) {
  Net net(14);
  save_checkpoint(path("c.safetensors"), net);
  EXPECT_THROW(load_checkpoint(path("c.safetensors"), Device("cuda:99999")), DeviceError);
}

}  // namespace
