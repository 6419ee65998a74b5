// Tests for the safetensors format layer: byte layout per the spec, round trips, atomic writes, malformed files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/safetensors_format.h"
#include "kiln/core/dtype.h"
#include "kiln/core/error.h"

namespace fs = std::filesystem;
using kiln::DType;
using kiln::IOError;
using kiln::io::read_safetensors;
using kiln::io::SafetensorsEntry;
using kiln::io::SafetensorsFile;
using kiln::io::write_safetensors;

namespace {

testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

SafetensorsEntry entry(const std::string& name, DType dt, std::vector<int64_t> shape, uint8_t seed = 1) {
  SafetensorsEntry e{name, dt, std::move(shape), {}};
  size_t n = kiln::element_size(dt);
  for (int64_t d : e.shape) n *= static_cast<size_t>(d);
  for (size_t i = 0; i < n; ++i) e.bytes.push_back(static_cast<uint8_t>(seed + i * 7));
  return e;
}

// An 8-byte little-endian length, then the header text, then the data, as the spec lays a file out.
std::string raw_file(const std::string& header, const std::string& data, uint64_t header_len) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(header_len >> (8 * i));
  return s + header + data;
}
std::string raw_file(const std::string& header, const std::string& data) {
  return raw_file(header, data, header.size());
}

class SafetensorsTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / ("kiln_st_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) { return (dir_ / name).string(); }
  std::string file(const std::string& content) {
    std::ofstream(path("t.safetensors"), std::ios::binary) << content;
    return path("t.safetensors");
  }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  size_t files_in_dir() { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {})); }

  // The IOError message for reading content; checks that it names the file.
  std::string read_error(const std::string& content) {
    std::string p = file(content);
    try {
      read_safetensors(p);
    } catch (const IOError& e) {
      EXPECT_TRUE(has_substr(e.what(), p));
      return e.what();
    }
    ADD_FAILURE() << "read_safetensors did not throw IOError";
    return "";
  }
  // Reads a file whose header is json and whose data buffer is data_bytes long.
  std::string header_error(const std::string& json, size_t data_bytes) {
    return read_error(raw_file(json, std::string(data_bytes, '\x01')));
  }
  std::string write_error(const SafetensorsFile& f, const std::string& name = "w.safetensors") {
    try {
      write_safetensors(path(name), f);
    } catch (const IOError& e) {
      return e.what();
    }
    ADD_FAILURE() << "write_safetensors did not throw IOError";
    return "";
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeAndMetadata) {
  SafetensorsFile f;
  f.metadata = {{"format", "pt"}, {"note", "héllo \"quoted\""}};
  f.entries = {entry("w.f32", DType::Float32, {2, 3}),  entry("b", DType::Float64, {3}),
               entry("h", DType::Float16, {5}),         entry("bf", DType::BFloat16, {1, 1, 3}),
               entry("i", DType::Int32, {2}),           entry("l", DType::Int64, {2, 2}),
               entry("u", DType::UInt8, {7}),           entry("mask", DType::Bool, {3}, 0),
               entry("scalar", DType::Float32, {}),     entry("empty", DType::Float32, {0, 4})};
  for (auto& b : f.entries.back().bytes) b &= 1;  // bools are 0 or 1
  write_safetensors(path("m.safetensors"), f);
  SafetensorsFile g = read_safetensors(path("m.safetensors"));
  EXPECT_EQ(g.metadata, f.metadata);
  ASSERT_EQ(g.entries.size(), f.entries.size());
  for (size_t i = 0; i < f.entries.size(); ++i) {
    EXPECT_EQ(g.entries[i].name, f.entries[i].name);
    EXPECT_EQ(g.entries[i].dtype, f.entries[i].dtype) << f.entries[i].name;
    EXPECT_EQ(g.entries[i].shape, f.entries[i].shape) << f.entries[i].name;
    EXPECT_EQ(g.entries[i].bytes, f.entries[i].bytes) << f.entries[i].name;
  }
}

TEST_F(SafetensorsTest, ByteLayoutFollowsTheSpec) {
  SafetensorsFile f;
  f.metadata = {{"k", "v"}};
  f.entries = {entry("z", DType::Int64, {2}), entry("a", DType::Float16, {3})};
  write_safetensors(path("x.safetensors"), f);
  std::string s = slurp(path("x.safetensors"));
  ASSERT_GE(s.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(s[i]);
  EXPECT_EQ(n % 8, 0u) << "header must be padded to a multiple of 8";
  ASSERT_EQ(s.size(), 8 + n + 16 + 6);
  std::string header = s.substr(8, n);
  EXPECT_EQ(header[0], '{');
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}')) << "padding must be spaces";
  auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["__metadata__"], (nlohmann::json{{"k", "v"}}));
  EXPECT_EQ(j["z"]["dtype"], "I64");
  EXPECT_EQ(j["z"]["shape"], (nlohmann::json{2}));
  EXPECT_EQ(j["z"]["data_offsets"], (nlohmann::json{0, 16}));
  EXPECT_EQ(j["a"]["dtype"], "F16");
  EXPECT_EQ(j["a"]["data_offsets"], (nlohmann::json{16, 22}));
  std::string data = s.substr(8 + n);
  EXPECT_EQ(data.substr(0, 16), std::string(f.entries[0].bytes.begin(), f.entries[0].bytes.end()));
  EXPECT_EQ(data.substr(16), std::string(f.entries[1].bytes.begin(), f.entries[1].bytes.end()));
}

TEST_F(SafetensorsTest, EmptyFileRoundTrips) {
  write_safetensors(path("e.safetensors"), {});
  EXPECT_EQ(slurp(path("e.safetensors")), raw_file("{}      ", ""));
  SafetensorsFile g = read_safetensors(path("e.safetensors"));
  EXPECT_TRUE(g.entries.empty());
  EXPECT_TRUE(g.metadata.empty());
}

TEST_F(SafetensorsTest, ReadsHandWrittenFileInOffsetOrder) {
  // Header order differs from data order, there is no padding, and a zero-size tensor sits between two others:
  // all allowed by the spec.
  std::string header = R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
                       R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                       R"("a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  SafetensorsFile g = read_safetensors(file(raw_file(header, std::string("\x07\x00\x00\x00\x09\x0a", 6))));
  ASSERT_EQ(g.entries.size(), 3u);
  EXPECT_EQ(g.entries[0].name, "a");
  EXPECT_EQ(g.entries[1].name, "z");
  EXPECT_EQ(g.entries[2].name, "b");
  int32_t a;
  std::memcpy(&a, g.entries[0].bytes.data(), 4);
  EXPECT_EQ(a, 7);
  EXPECT_EQ(g.entries[2].bytes, (std::vector<uint8_t>{9, 10}));
}

TEST_F(SafetensorsTest, OverwriteIsAtomicAndLeavesNoTemporaryFile) {
  write_safetensors(path("m.safetensors"), {{entry("a", DType::Float32, {4})}, {}});
  write_safetensors(path("m.safetensors"), {{entry("b", DType::Int64, {1})}, {}});
  EXPECT_EQ(read_safetensors(path("m.safetensors")).entries.at(0).name, "b");
  EXPECT_EQ(files_in_dir(), 1u);
}

TEST_F(SafetensorsTest, FailedWriteKeepsOldFileAndRemovesTemporary) {
  SafetensorsFile good{{entry("a", DType::Float32, {4})}, {}};
  write_safetensors(path("m.safetensors"), good);
  const std::string before = slurp(path("m.safetensors"));
  SafetensorsFile bad = good;
  bad.entries[0].bytes.pop_back();
  EXPECT_TRUE(has_substr(write_error(bad, "m.safetensors"), "needs 16 bytes, but the entry has 15"));
  EXPECT_EQ(slurp(path("m.safetensors")), before);
  // A failure after the temporary file exists: the target is a directory, so the final rename fails.
  fs::create_directory(dir_ / "d.safetensors");
  std::string msg = write_error(good, "d.safetensors");
  EXPECT_TRUE(has_substr(msg, "cannot rename"));
  EXPECT_TRUE(fs::is_directory(dir_ / "d.safetensors"));
  EXPECT_EQ(files_in_dir(), 2u) << "the temporary file was left behind";
  EXPECT_EQ(slurp(path("m.safetensors")), before);
}

TEST_F(SafetensorsTest, WriteRefusesBadEntries) {
  auto one = [](SafetensorsEntry e) { return SafetensorsFile{{std::move(e)}, {}}; };
  EXPECT_TRUE(has_substr(write_error({{entry("a", DType::UInt8, {1}), entry("a", DType::UInt8, {1})}, {}}),
                         "tensor name 'a' appears twice"));
  EXPECT_TRUE(has_substr(write_error(one(entry("__metadata__", DType::UInt8, {1}))), "reserved"));
  EXPECT_TRUE(has_substr(write_error(one(entry("", DType::UInt8, {1}))), "empty name"));
  EXPECT_TRUE(has_substr(write_error(one({"neg", DType::UInt8, {-1}, {}})), "negative dim"));
  EXPECT_TRUE(has_substr(write_error(one(entry(std::string("bad\xff"), DType::UInt8, {1}))), "UTF-8"));
  EXPECT_EQ(files_in_dir(), 0u);
  std::string missing = (dir_ / "no" / "dir.safetensors").string();
  try {
    write_safetensors(missing, {});
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_TRUE(has_substr(e.what(), missing));
    EXPECT_TRUE(has_substr(e.what(), "cannot create temporary file"));
  }
}

TEST_F(SafetensorsTest, MissingFile) {
  std::string p = path("missing.safetensors");
  try {
    read_safetensors(p);
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_TRUE(has_substr(e.what(), p));
    EXPECT_TRUE(has_substr(e.what(), "cannot open"));
  }
}

TEST_F(SafetensorsTest, FileShorterThanEightBytes) {
  EXPECT_TRUE(has_substr(read_error(""), "file is 0 bytes, shorter than the 8-byte header length"));
  EXPECT_TRUE(has_substr(read_error(std::string("\x02\0\0\0", 4)), "file is 4 bytes"));
}

TEST_F(SafetensorsTest, HeaderLengthLargerThanFile) {
  EXPECT_TRUE(has_substr(read_error(raw_file("{}", "", 3)), "header length 3 is larger than the file (10 bytes)"));
}

TEST_F(SafetensorsTest, HeaderLengthOverLimit) {
  EXPECT_TRUE(has_substr(read_error(raw_file("{}", "", 200'000'000)), "larger than the 100 MB limit"));
  EXPECT_TRUE(has_substr(read_error(raw_file("{}", "", ~uint64_t{0})), "larger than the 100 MB limit"));
}

TEST_F(SafetensorsTest, HeaderNotJsonOrNotObject) {
  EXPECT_TRUE(has_substr(header_error("{\"a\": ", 0), "header is not valid JSON"));
  EXPECT_TRUE(has_substr(header_error("{} trailing", 0), "header is not valid JSON"));
  EXPECT_TRUE(has_substr(header_error(std::string("{\"\xff\":1}"), 0), "header is not valid JSON"));
  EXPECT_TRUE(has_substr(header_error("[1, 2]", 0), "header must be a JSON object, got a array"));
}

// A hostile header nested 100,000 levels deep overflowed the stack while its error message was built.
TEST_F(SafetensorsTest, DeeplyNestedHeaderIsRefusedWithoutDumpingIt) {
  const std::string deep = "{\"t\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  const std::string e = header_error(deep, 0);
  EXPECT_TRUE(has_substr(e, "header nests deeper than 16 levels")) << e;
  // A long value is shortened in the message.
  const std::string wide = R"({"t":{"dtype":")" + std::string(5000, 'x') + R"(","shape":[1],"data_offsets":[0,1]}})";
  const std::string w = header_error(wide, 1);
  EXPECT_TRUE(has_substr(w, "unknown or unsupported dtype")) << w.substr(0, 200);
  EXPECT_LT(w.size(), 600u);
}

// Names and the JSON parser's excerpt come from the file: messages quote at most a short piece of them.
TEST_F(SafetensorsTest, LongNamesAndBadTokensAreShortenedInMessages) {
  const std::string big(1 << 20, 'n');
  const std::string unterminated = header_error("{\"" + big, 0);
  EXPECT_TRUE(has_substr(unterminated, "header is not valid JSON")) << unterminated.substr(0, 200);
  EXPECT_LT(unterminated.size(), 700u);
  for (const std::string& header :
       {"{\"" + big + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,1]}})",
        "{\"" + big + R"(":1,")" + big + R"(":2})", R"({"__metadata__":{")" + big + R"(":1}})"}) {
    const std::string e = header_error(header, 1);
    EXPECT_LT(e.size(), 700u) << e.substr(0, 200);
  }
}

TEST_F(SafetensorsTest, EntryMissingFields) {
  EXPECT_TRUE(
      has_substr(header_error(R"({"t":{"shape":[1],"data_offsets":[0,1]}})", 1), "tensor 't': missing 'dtype'"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","data_offsets":[0,1]}})", 1), "missing 'shape'"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[1]}})", 1), "missing 'data_offsets'"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":[1]})", 1), "entry must be a JSON object"));
}

TEST_F(SafetensorsTest, UnknownDtype) {
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4),
                         "unknown or unsupported dtype \"F33\""));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"I16","shape":[1],"data_offsets":[0,2]}})", 2),
                         "unsupported dtype \"I16\""));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4),
                         "dtype must be a string"));
}

TEST_F(SafetensorsTest, BadShapeDims) {
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", 1),
                         "shape must hold non-negative integers, got -1"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", 1),
                         "shape must hold non-negative integers, got 1.5"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}})", 1),
                         "shape must hold non-negative integers"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":3,"data_offsets":[0,1]}})", 1),
                         "shape must be an array"));
}

TEST_F(SafetensorsTest, ShapeDisagreesWithOffsets) {
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12),
                         "shape [2, 2] of F32 needs 16 bytes, but data_offsets [0, 12] spans 12"));
  EXPECT_TRUE(has_substr(
      header_error(R"({"t":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
      "needs more than 2^64 bytes"));
}

TEST_F(SafetensorsTest, BadOffsets) {
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 3),
                         "data_offsets [0, 4] is out of range: the data buffer holds 3 bytes"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", 2),
                         "has begin > end"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", 1),
                         "data_offsets must hold non-negative integers"));
  EXPECT_TRUE(has_substr(header_error(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 1),
                         "data_offsets must be [begin, end]"));
}

TEST_F(SafetensorsTest, OverlappingEntries) {
  std::string msg = header_error(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                 R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                                 6);
  EXPECT_TRUE(has_substr(msg, "tensors 'a' and 'b' overlap"));
}

TEST_F(SafetensorsTest, GapsInTheBuffer) {
  EXPECT_TRUE(has_substr(header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
                                      5),
                         "gap in the data buffer: bytes [2, 3) belong to no tensor"));
  EXPECT_TRUE(has_substr(header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", 3),
                         "bytes [0, 1) belong to no tensor"));
  EXPECT_TRUE(has_substr(header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5),
                         "trailing bytes [2, 5) belong to no tensor"));
}

TEST_F(SafetensorsTest, DuplicateNames) {
  EXPECT_TRUE(has_substr(header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                      2),
                         "header has the key 'a' twice"));
}

TEST_F(SafetensorsTest, BadMetadata) {
  EXPECT_TRUE(has_substr(header_error(R"({"__metadata__":{"epoch":3}})", 0),
                         "__metadata__ value for 'epoch' must be a string, got 3"));
  EXPECT_TRUE(has_substr(header_error(R"({"__metadata__":["x"]})", 0), "__metadata__ must be an object"));
}

}  // namespace
