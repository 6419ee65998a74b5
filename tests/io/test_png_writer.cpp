// Tests for io::write_png: PNG structure, exact pixels after inflate, chunk CRCs and the atomic-write failure paths.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "io/png_writer.h"
#include "kiln/core/error.h"

namespace {

using kiln::io::Image;

struct Chunk {
  std::string type;
  std::vector<uint8_t> data;
  uint32_t crc;
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Splits a PNG into chunks, checking the signature and that the chunks exactly fill the file.
std::vector<Chunk> parse(const std::vector<uint8_t>& png) {
  const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  EXPECT_GE(png.size(), 8u);
  EXPECT_TRUE(std::equal(sig, sig + 8, png.begin()));
  std::vector<Chunk> chunks;
  size_t off = 8;
  while (off + 12 <= png.size()) {
    const uint32_t len = be32(&png[off]);
    if (off + 12 + len > png.size()) break;
    Chunk c{std::string(png.begin() + off + 4, png.begin() + off + 8),
            std::vector<uint8_t>(png.begin() + off + 8, png.begin() + off + 8 + len), be32(&png[off + 8 + len])};
    chunks.push_back(std::move(c));
    off += 12 + len;
  }
  EXPECT_EQ(off, png.size()) << "trailing bytes after the last whole chunk";
  return chunks;
}

std::vector<uint8_t> inflate_idat(const std::vector<Chunk>& chunks, size_t expected) {
  std::vector<uint8_t> packed;
  for (const Chunk& c : chunks)
    if (c.type == "IDAT") packed.insert(packed.end(), c.data.begin(), c.data.end());
  std::vector<uint8_t> raw(expected + 16);  // spare room: a longer stream shows up as a size mismatch
  uLongf raw_len = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_len, packed.data(), packed.size()), Z_OK);
  raw.resize(raw_len);
  return raw;
}

// A per-test scratch directory, removed afterwards.
class PngWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "kiln_png_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& name : list_dir()) {
      const std::string p = dir_ + "/" + name;
      if (rmdir(p.c_str()) != 0) unlink(p.c_str());
    }
    rmdir(dir_.c_str());
  }
  std::vector<std::string> list_dir() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
      closedir(d);
    }
    return names;
  }
  std::string dir_;
};

Image pattern_image(int w, int h) {
  Image img(w, h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.set(x, y, static_cast<uint8_t>(x * 37 + y), static_cast<uint8_t>(y * 53), static_cast<uint8_t>(x ^ y));
  return img;
}

TEST_F(PngWriterTest, HeaderPixelsAndCrcs) {
  const Image img = pattern_image(7, 5);
  const std::string path = dir_ + "/a.png";
  kiln::io::write_png(path, img);
  const std::vector<Chunk> chunks = parse(read_all(path));
  ASSERT_GE(chunks.size(), 3u);

  EXPECT_EQ(chunks.front().type, "IHDR");
  ASSERT_EQ(chunks.front().data.size(), 13u);
  const uint8_t* h = chunks.front().data.data();
  EXPECT_EQ(be32(h), 7u);
  EXPECT_EQ(be32(h + 4), 5u);
  EXPECT_EQ(h[8], 8);   // bit depth
  EXPECT_EQ(h[9], 2);   // colour type RGB
  EXPECT_EQ(h[10], 0);  // compression
  EXPECT_EQ(h[11], 0);  // filter method
  EXPECT_EQ(h[12], 0);  // no interlace
  EXPECT_EQ(chunks.back().type, "IEND");
  EXPECT_TRUE(chunks.back().data.empty());
  for (size_t i = 1; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i].type, "IDAT");

  for (const Chunk& c : chunks) {
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(c.type.data()), 4);
    // Guarded because zlib treats a null buffer as "return the initial value", and IEND's data is empty.
    if (!c.data.empty()) crc = crc32(crc, c.data.data(), static_cast<uInt>(c.data.size()));
    EXPECT_EQ(static_cast<uint32_t>(crc), c.crc) << "chunk " << c.type;
  }

  const std::vector<uint8_t> raw = inflate_idat(chunks, 5 * (1 + 7 * 3));
  ASSERT_EQ(raw.size(), 5u * (1 + 7 * 3));
  for (int y = 0; y < 5; ++y) {
    const uint8_t* row = &raw[y * (1 + 7 * 3)];
    EXPECT_EQ(row[0], 0) << "filter byte of row " << y;
    EXPECT_TRUE(std::equal(row + 1, row + 1 + 21, img.rgb.begin() + y * 21)) << "row " << y;
  }
  EXPECT_EQ(list_dir(), std::vector<std::string>{"a.png"}) << "no temp file left behind";
}

TEST_F(PngWriterTest, LargeNoisyImageSpansSeveralIdatChunks) {
  Image img(300, 200);
  std::mt19937 rng(7);
  for (uint8_t& b : img.rgb) b = static_cast<uint8_t>(rng());
  const std::vector<Chunk> chunks = parse(kiln::io::encode_png(img));
  size_t idats = 0;
  for (const Chunk& c : chunks) idats += c.type == "IDAT";
  EXPECT_GT(idats, 1u);
  const std::vector<uint8_t> raw = inflate_idat(chunks, 200 * (1 + 900));
  ASSERT_EQ(raw.size(), 200u * 901);
  for (int y = 0; y < 200; ++y) {
    ASSERT_EQ(raw[y * 901], 0);
    ASSERT_TRUE(std::equal(&raw[y * 901 + 1], &raw[y * 901 + 901], img.rgb.begin() + y * 900));
  }
}

TEST_F(PngWriterTest, OverwritesAnExistingFile) {
  const std::string path = dir_ + "/b.png";
  { std::ofstream(path) << "old contents"; }
  kiln::io::write_png(path, pattern_image(3, 2));
  const std::vector<Chunk> chunks = parse(read_all(path));
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(be32(chunks[0].data.data()), 3u);
  EXPECT_EQ(list_dir().size(), 1u);
}

TEST_F(PngWriterTest, MissingDirectoryThrowsIOError) {
  const std::string path = dir_ + "/no/such/dir/c.png";
  try {
    kiln::io::write_png(path, pattern_image(4, 4));
    FAIL() << "expected IOError";
  } catch (const kiln::IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
  EXPECT_TRUE(list_dir().empty());
}

TEST_F(PngWriterTest, FailedRenameRemovesTempFile) {
  // The temp file can be written beside the target, but renaming a file over a directory fails.
  const std::string path = dir_ + "/target";
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  EXPECT_THROW(kiln::io::write_png(path, pattern_image(4, 4)), kiln::IOError);
  EXPECT_EQ(list_dir(), std::vector<std::string>{"target"});
}

TEST_F(PngWriterTest, InvalidImageIsRejectedBeforeWriting) {
  Image bad(4, 4);
  bad.rgb.pop_back();
  EXPECT_THROW(kiln::io::write_png(dir_ + "/d.png", bad), kiln::ValueError);
  EXPECT_THROW(kiln::io::write_png(dir_ + "/d.png", Image()), kiln::ValueError);
  EXPECT_TRUE(list_dir().empty());
}

TEST(Image, SetGetBlendAndClipping) {
  Image img(3, 2, 0x102030);
  EXPECT_EQ(img.get(2, 1), 0x102030u);
  img.set(1, 0, 0xAABBCC);
  EXPECT_EQ(img.get(1, 0), 0xAABBCCu);
  img.set(-1, 0, 0xFFFFFF);  // ignored
  img.set(3, 0, 0xFFFFFF);
  img.blend(0, 0, 0xFFFFFF, 1.f);
  EXPECT_EQ(img.get(0, 0), 0xFFFFFFu);
  img.blend(0, 1, 0x000000, 0.f);
  EXPECT_EQ(img.get(0, 1), 0x102030u);
  Image gray(1, 1, 0x000000);
  gray.blend(0, 0, 0xC8C8C8, 0.5f);
  EXPECT_EQ(gray.get(0, 0), 0x646464u);
  EXPECT_THROW(img.get(3, 0), kiln::IndexError);
}

}  // namespace
