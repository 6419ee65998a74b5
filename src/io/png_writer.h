// An RGB8 image buffer and an atomic PNG writer for it (zlib does the deflate and the CRCs).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::io {

/// An 8-bit RGB raster. Pixel (x, y) occupies rgb[3 * (y * width + x) + 0..2]; row 0 is the top.
/// Colours given as one uint32_t are 0xRRGGBB.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  ///< row-major RGB8, width * height * 3 bytes

  Image() = default;
  /// A width x height image filled with one colour. Throws ValueError for a negative size.
  Image(int width, int height, uint32_t fill = 0xFFFFFF);

  /// Whether (x, y) lies inside the image.
  bool contains(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  /// Sets one pixel. Coordinates outside the image are ignored, so drawing code may clip for free.
  void set(int x, int y, uint8_t r, uint8_t g, uint8_t b);
  void set(int x, int y, uint32_t rgb);
  /// Mixes rgb over the pixel with coverage alpha in [0, 1] (values outside are clamped; 1 stores rgb exactly).
  /// Coordinates outside the image are ignored.
  void blend(int x, int y, uint32_t rgb, float alpha);
  /// The pixel at (x, y) as 0xRRGGBB. Throws IndexError outside the image.
  uint32_t get(int x, int y) const;
};

/// Encodes img as an 8-bit RGB, non-interlaced PNG: signature, IHDR, one or more IDAT chunks (each at most
/// 64 KiB of zlib data, every row with filter type 0), IEND.
/// Throws ValueError when img is empty or rgb.size() != width * height * 3, IOError when zlib fails.
std::vector<uint8_t> encode_png(const Image& img);

/// Writes img to path as a PNG (see encode_png), atomically (io::write_file_atomic): a reader sees either the
/// old file or the complete new one, and concurrent writers never share a temporary file.
/// On failure the temporary file is removed and IOError names the path and the reason (strerror).
void write_png(const std::string& path, const Image& img);

}  // namespace kiln::io
