// Tests for IDX reading and writing: plain and gzip files, byte order, widening, and every malformed-file case.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/idx.h"
#include "kiln/core/dtype.h"
#include "kiln/core/error.h"

namespace fs = std::filesystem;
using kiln::DType;
using kiln::IOError;
using kiln::io::IdxArray;
using kiln::io::read_idx;
using kiln::io::write_idx;

namespace {

testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// The IOError message read_idx gives for path, or a failure note when it does not throw one.
std::string read_error(const std::string& path) {
  try {
    read_idx(path);
  } catch (const IOError& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_idx('" << path << "') did not throw IOError";
  return "";
}

std::string idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const std::string& payload) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>(d >> shift);
  return s + payload;
}

std::string gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class IdxTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / ("kiln_idx_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

template <typename T>
std::vector<T> values(const IdxArray& a) {
  std::vector<T> v(a.bytes.size() / sizeof(T));
  std::memcpy(v.data(), a.bytes.data(), v.size() * sizeof(T));
  return v;
}

TEST_F(IdxTest, ReadsPlainUnsignedBytes) {
  IdxArray a = read_idx(file("u8.idx", idx_bytes(0x08, {2, 3}, std::string("\x00\x01\x02\x03\x04\xff", 6))));
  EXPECT_EQ(a.dtype, DType::UInt8);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.bytes, (std::vector<uint8_t>{0, 1, 2, 3, 4, 255}));
}

TEST_F(IdxTest, ConvertsBigEndianToHostOrder) {
  IdxArray i = read_idx(file("i32.idx", idx_bytes(0x0C, {2}, std::string("\x00\x00\x01\x02\xff\xff\xff\xfe", 8))));
  EXPECT_EQ(i.dtype, DType::Int32);
  EXPECT_EQ(values<int32_t>(i), (std::vector<int32_t>{258, -2}));
  IdxArray f = read_idx(file("f32.idx", idx_bytes(0x0D, {1}, std::string("\x3f\xc0\x00\x00", 4))));
  EXPECT_EQ(f.dtype, DType::Float32);
  EXPECT_EQ(values<float>(f), (std::vector<float>{1.5f}));
  IdxArray d = read_idx(file("f64.idx", idx_bytes(0x0E, {1}, std::string("\xc0\x04\x00\x00\x00\x00\x00\x00", 8))));
  EXPECT_EQ(d.dtype, DType::Float64);
  EXPECT_EQ(values<double>(d), (std::vector<double>{-2.5}));
}

TEST_F(IdxTest, WidensSignedBytesAndShortsToInt32) {
  IdxArray s8 = read_idx(file("s8.idx", idx_bytes(0x09, {3}, std::string("\xff\x7f\x80", 3))));
  EXPECT_EQ(s8.dtype, DType::Int32);
  EXPECT_EQ(values<int32_t>(s8), (std::vector<int32_t>{-1, 127, -128}));
  IdxArray s16 = read_idx(file("s16.idx", idx_bytes(0x0B, {2}, std::string("\xff\xfe\x01\x00", 4))));
  EXPECT_EQ(s16.dtype, DType::Int32);
  EXPECT_EQ(values<int32_t>(s16), (std::vector<int32_t>{-2, 256}));
}

TEST_F(IdxTest, ReadsGzipByMagicNotName) {
  std::string raw = idx_bytes(0x08, {4}, "\x05\x06\x07\x08");
  IdxArray a = read_idx(file("no_gz_suffix.idx", gzip(raw)));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(a.bytes, (std::vector<uint8_t>{5, 6, 7, 8}));
  // gzip allows concatenated members; gunzip reads them as one stream and so do we.
  IdxArray b = read_idx(file("two_members.gz", gzip(raw.substr(0, 6)) + gzip(raw.substr(6))));
  EXPECT_EQ(b.bytes, a.bytes);
}

TEST_F(IdxTest, RoundTripsEveryWritableDtypePlainAndGzip) {
  for (bool gz : {false, true}) {
    for (DType dt : {DType::UInt8, DType::Int32, DType::Float32, DType::Float64}) {
      IdxArray a;
      a.dtype = dt;
      a.shape = {3, 1, 2};
      a.bytes.resize(6 * kiln::element_size(dt));
      for (size_t i = 0; i < a.bytes.size(); ++i) a.bytes[i] = static_cast<uint8_t>(i * 37 + 11);
      std::string path = (dir_ / "rt.idx").string();
      write_idx(path, a, gz);
      std::string on_disk = slurp(path);
      ASSERT_GE(on_disk.size(), 2u);
      EXPECT_EQ(static_cast<uint8_t>(on_disk[0]), gz ? 0x1f : 0x00);
      IdxArray b = read_idx(path);
      EXPECT_EQ(b.dtype, a.dtype);
      EXPECT_EQ(b.shape, a.shape);
      EXPECT_EQ(b.bytes, a.bytes);
    }
  }
  // Each write replaced the last by rename; no temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(IdxTest, WritesBigEndianAsTheFormatRequires) {
  IdxArray a{DType::Int32, {1}, {}};
  int32_t v = 0x01020304;
  a.bytes.resize(4);
  std::memcpy(a.bytes.data(), &v, 4);
  std::string path = (dir_ / "be.idx").string();
  write_idx(path, a);
  EXPECT_EQ(slurp(path), idx_bytes(0x0C, {1}, "\x01\x02\x03\x04"));
}

TEST_F(IdxTest, ZeroSizedDimsReadAsEmpty) {
  IdxArray a = read_idx(file("empty.idx", idx_bytes(0x0D, {0, 5}, "")));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(a.bytes.empty());
}

TEST_F(IdxTest, MissingFileNamesThePath) {
  std::string path = (dir_ / "nope.idx").string();
  std::string msg = read_error(path);
  EXPECT_TRUE(has_substr(msg, path));
  EXPECT_TRUE(has_substr(msg, "cannot open"));
}

TEST_F(IdxTest, DirectoryIsRefused) { EXPECT_TRUE(has_substr(read_error(dir_.string()), "not a regular file")); }

TEST_F(IdxTest, TooShortForMagic) {
  EXPECT_TRUE(has_substr(read_error(file("empty", "")), "too short for the 4-byte IDX magic"));
  EXPECT_TRUE(has_substr(read_error(file("three", std::string("\0\0\x08", 3))), "3 bytes, too short"));
}

TEST_F(IdxTest, BadMagic) {
  std::string path = file("bad.idx", "PK\x03\x04rest");
  std::string msg = read_error(path);
  EXPECT_TRUE(has_substr(msg, path));
  EXPECT_TRUE(has_substr(msg, "bad magic"));
}

TEST_F(IdxTest, UnknownTypeCode) {
  EXPECT_TRUE(has_substr(read_error(file("t.idx", idx_bytes(0x0A, {1}, "x"))), "unknown IDX type code 10"));
}

TEST_F(IdxTest, TruncatedHeader) {
  std::string bytes = idx_bytes(0x08, {2, 3}, "").substr(0, 9);
  EXPECT_TRUE(has_substr(read_error(file("h.idx", bytes)), "header is truncated: 2 dims need 8 bytes"));
}

TEST_F(IdxTest, TruncatedPayloadSaysExpectedAndActual) {
  std::string msg = read_error(file("t.idx", idx_bytes(0x0C, {2, 3}, std::string(23, 'x'))));
  EXPECT_TRUE(has_substr(msg, "truncated"));
  EXPECT_TRUE(has_substr(msg, "expected 24 payload bytes for shape [2, 3] of int"));
  EXPECT_TRUE(has_substr(msg, "only 23 are present"));
}

TEST_F(IdxTest, TrailingGarbage) {
  std::string msg = read_error(file("t.idx", idx_bytes(0x08, {2}, "abcde")));
  EXPECT_TRUE(has_substr(msg, "3 trailing bytes after the expected 2 payload bytes"));
}

TEST_F(IdxTest, LyingHeaderIsRefusedWithoutAllocatingItsClaim) {
  // Claims 2^48 bytes; must be refused from the file size, not by trying to allocate.
  std::string msg = read_error(file("lie.idx", idx_bytes(0x08, {65536, 65536, 65536}, "xyz")));
  EXPECT_TRUE(has_substr(msg, "expected 281474976710656 payload bytes"));
  std::string gz_msg = read_error(file("lie.gz", gzip(idx_bytes(0x08, {65536, 65536, 65536}, "xyz"))));
  EXPECT_TRUE(has_substr(gz_msg, "decompressed data is truncated"));
  EXPECT_TRUE(has_substr(gz_msg, "only 3 are present"));
}

TEST_F(IdxTest, ShapeWhoseSizeOverflowsIsRefused) {
  std::string msg = read_error(file("o.idx", idx_bytes(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu}, "")));
  EXPECT_TRUE(has_substr(msg, "too large"));
}

TEST_F(IdxTest, GzipPayloadTruncatedOrTrailing) {
  std::string short_msg = read_error(file("s.gz", gzip(idx_bytes(0x08, {10}, "12345"))));
  EXPECT_TRUE(has_substr(short_msg, "expected 10 payload bytes"));
  EXPECT_TRUE(has_substr(short_msg, "only 5"));
  std::string long_msg = read_error(file("l.gz", gzip(idx_bytes(0x08, {2}, "12345"))));
  EXPECT_TRUE(has_substr(long_msg, "decompressed data has 3 trailing bytes"));
}

TEST_F(IdxTest, GzipStreamCutShort) {
  std::string gz = gzip(idx_bytes(0x08, {1000}, std::string(1000, 'q')));
  EXPECT_TRUE(has_substr(read_error(file("cut.gz", gz.substr(0, gz.size() - 6))), "gzip stream is truncated"));
}

TEST_F(IdxTest, CorruptGzipData) {
  std::string raw = idx_bytes(0x08, {64}, std::string(64, 'z'));
  std::string gz = gzip(raw);
  gz[gz.size() - 5] ^= 0x55;  // inside the CRC32/length trailer: zlib must notice
  EXPECT_TRUE(has_substr(read_error(file("crc.gz", gz)), "corrupt gzip data"));
  std::string gz2 = gzip(raw);
  gz2[3] = static_cast<char>(0xE0);  // reserved FLG bits
  EXPECT_TRUE(has_substr(read_error(file("flg.gz", gz2)), "corrupt gzip data"));
}

TEST_F(IdxTest, GarbageAfterGzipStream) {
  std::string gz = gzip(idx_bytes(0x08, {2}, "ab")) + "junk";
  EXPECT_TRUE(has_substr(read_error(file("junk.gz", gz)), "after the end of the gzip stream"));
}

TEST_F(IdxTest, WriteRefusesBadArrays) {
  std::string path = (dir_ / "w.idx").string();
  auto write_error = [&](const IdxArray& a) -> std::string {
    try {
      write_idx(path, a);
    } catch (const IOError& e) {
      return e.what();
    }
    ADD_FAILURE() << "write_idx did not throw";
    return "";
  };
  EXPECT_TRUE(has_substr(write_error({DType::Int64, {1}, std::vector<uint8_t>(8)}), "cannot write dtype int64"));
  EXPECT_TRUE(has_substr(write_error({DType::UInt8, {2, 2}, std::vector<uint8_t>(3)}), "needs 4 bytes"));
  EXPECT_TRUE(has_substr(write_error({DType::UInt8, {-1}, {}}), "outside [0, 2^32)"));
  EXPECT_TRUE(has_substr(write_error({DType::UInt8, std::vector<int64_t>(256, 1), {1}}), "at most 255 dims"));
  EXPECT_FALSE(fs::exists(path));
  std::string missing_dir = (dir_ / "no" / "such" / "dir.idx").string();
  try {
    write_idx(missing_dir, {DType::UInt8, {1}, {7}});
    ADD_FAILURE() << "write_idx into a missing directory did not throw";
  } catch (const IOError& e) {
    EXPECT_TRUE(has_substr(e.what(), missing_dir));
    EXPECT_TRUE(has_substr(e.what(), "cannot create temporary file"));
  }
}

TEST(IdxDataset, FashionMnistTestLabels) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is not present";
  IdxArray a = read_idx(path);
  EXPECT_EQ(a.dtype, DType::UInt8);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{10000}));
  ASSERT_EQ(a.bytes.size(), 10000u);
  std::vector<int> counts(10, 0);
  for (uint8_t label : a.bytes) {
    ASSERT_LT(label, 10);
    ++counts[label];
  }
  for (int c = 0; c < 10; ++c) EXPECT_GT(counts[c], 0) << "no example of class " << c;
}

TEST(IdxDataset, FashionMnistTestImages) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is not present";
  IdxArray a = read_idx(path);
  EXPECT_EQ(a.dtype, DType::UInt8);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(a.bytes.size(), 10000u * 28 * 28);
}

}  // namespace
