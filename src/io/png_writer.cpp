// PNG encoding (IHDR, IDAT, IEND with zlib compress2 and crc32) and its atomic write (write_file_atomic).
#include "io/png_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "io/atomic_file.h"
#include "kiln/core/error.h"

namespace kiln::io {

Image::Image(int w, int h, uint32_t fill) : width(w), height(h) {
  KILN_CHECK(w >= 0 && h >= 0, "Image: width and height must be non-negative, got ", w, "x", h);
  rgb.resize(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  for (size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = static_cast<uint8_t>(fill >> 16);
    rgb[i + 1] = static_cast<uint8_t>(fill >> 8);
    rgb[i + 2] = static_cast<uint8_t>(fill);
  }
}

void Image::set(int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  if (!contains(x, y)) return;
  uint8_t* p = &rgb[3 * (static_cast<size_t>(y) * width + x)];
  p[0] = r;
  p[1] = g;
  p[2] = b;
}

void Image::set(int x, int y, uint32_t c) {
  set(x, y, static_cast<uint8_t>(c >> 16), static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c));
}

void Image::blend(int x, int y, uint32_t c, float alpha) {
  if (!contains(x, y) || !(alpha > 0.f)) return;
  if (alpha >= 1.f) return set(x, y, c);
  uint8_t* p = &rgb[3 * (static_cast<size_t>(y) * width + x)];
  for (int k = 0; k < 3; ++k) {
    const float src = static_cast<float>((c >> (16 - 8 * k)) & 0xFF);
    p[k] = static_cast<uint8_t>(p[k] + (src - p[k]) * alpha + 0.5f);
  }
}

uint32_t Image::get(int x, int y) const {
  KILN_CHECK_INDEX(contains(x, y), "Image::get: pixel (", x, ", ", y, ") is outside the ", width, "x", height,
                   " image");
  const uint8_t* p = &rgb[3 * (static_cast<size_t>(y) * width + x)];
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}

namespace {

// Small IDAT chunks keep each crc32 call within its 32-bit length argument and match what common encoders emit.
constexpr size_t kMaxIdatBytes = 64 * 1024;

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// A chunk is length, type, data, then the CRC of type and data.
void put_chunk(std::vector<uint8_t>& out, const char* type, const uint8_t* data, size_t n) {
  put_u32(out, static_cast<uint32_t>(n));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data, data + n);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, out.data() + start, static_cast<uInt>(4 + n));
  put_u32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& img) {
  KILN_CHECK(img.width > 0 && img.height > 0, "encode_png: the image must be at least 1x1, got ", img.width, "x",
             img.height);
  const size_t row_bytes = static_cast<size_t>(img.width) * 3;
  KILN_CHECK(img.rgb.size() == row_bytes * img.height, "encode_png: a ", img.width, "x", img.height,
             " image needs ", row_bytes * img.height, " RGB bytes, got ", img.rgb.size());

  // Each scanline is a filter-type byte (0, none) followed by the row's pixels.
  std::vector<uint8_t> raw((row_bytes + 1) * img.height);
  for (int y = 0; y < img.height; ++y) {
    uint8_t* dst = &raw[(row_bytes + 1) * y];
    dst[0] = 0;
    std::memcpy(dst + 1, &img.rgb[row_bytes * y], row_bytes);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> packed(packed_size);
  const int rc = compress2(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size()), 6);
  if (rc != Z_OK) throw IOError(std::string("PNG encoding failed: zlib compress2: ") + zError(rc));

  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  out.reserve(packed_size + packed_size / kMaxIdatBytes * 12 + 64);
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, static_cast<uint32_t>(img.width));
  put_u32(ihdr, static_cast<uint32_t>(img.height));
  // Bit depth 8, colour type 2 (RGB), compression 0, filter method 0, no interlace.
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  put_chunk(out, "IHDR", ihdr.data(), ihdr.size());
  for (size_t off = 0; off < packed_size; off += kMaxIdatBytes)
    put_chunk(out, "IDAT", packed.data() + off, std::min(kMaxIdatBytes, packed_size - off));
  put_chunk(out, "IEND", nullptr, 0);
  return out;
}

void write_png(const std::string& path, const Image& img) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode_png(img);  // before touching the filesystem, so a bad image leaves nothing behind
  } catch (const IOError& e) {
    throw IOError("cannot write PNG '" + path + "': " + e.what());
  }
  write_file_atomic(path, bytes.data(), bytes.size(), "PNG file");
}

}  // namespace kiln::io
