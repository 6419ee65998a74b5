// Reads and writes IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed, as raw bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/core/dtype.h"

namespace kiln::io {

/// An IDX array as raw bytes. bytes holds prod(shape) elements of dtype, row-major, in host byte order.
struct IdxArray {
  DType dtype = DType::UInt8;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Reads an IDX file; gzip is detected by its magic bytes (1f 8b), not by the file name.
/// Type codes map as: 0x08 ubyte -> UInt8, 0x0C int -> Int32, 0x0D float -> Float32, 0x0E double -> Float64;
/// 0x09 sbyte and 0x0B short are widened to Int32 because kiln has no int8/int16 dtype (lossless).
/// Throws IOError naming the path and the problem: missing or unreadable file, bad magic, unknown type code,
/// corrupt gzip stream, a payload shorter (truncated) or longer (trailing bytes) than the shape says.
/// Allocates only in proportion to the data really in the file, whatever the header claims.
IdxArray read_idx(const std::string& path);

/// Writes arr as an IDX file (gzip-compressed when gzip is true), big-endian as the format requires.
/// Requires dtype UInt8, Int32, Float32 or Float64, at most 255 dims each in [0, 2^32), and
/// bytes.size() == prod(shape) * element_size(dtype); otherwise throws IOError.
/// Atomic: the data goes to a temporary file in the same directory, is fsynced, then renamed over path,
/// so readers see the old file or the new one, never a partial one.
void write_idx(const std::string& path, const IdxArray& arr, bool gzip = false);

}  // namespace kiln::io
