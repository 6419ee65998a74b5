// Reads and writes the safetensors file format (https://github.com/huggingface/safetensors) as raw bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/core/dtype.h"

namespace kiln::io {

/// One tensor: bytes holds prod(shape) elements of dtype, row-major, little-endian (host order on every platform
/// kiln builds for).
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// A whole file: its tensors and the free-form string metadata of the "__metadata__" header key.
struct SafetensorsFile {
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, std::string> metadata;
};

/// Writes file to path: an 8-byte little-endian header length N, N bytes of JSON header padded with spaces to a
/// multiple of 8, then the tensors' bytes back to back in entries order. Dtypes are written as BOOL, U8, I32, I64,
/// F16, BF16, F32, F64; the result loads with the Python safetensors package and PyTorch.
/// Requires unique, non-empty UTF-8 names other than "__metadata__", dims >= 0 and
/// bytes.size() == prod(shape) * element_size(dtype); otherwise throws IOError before touching the disk.
/// Atomic: writes a temporary file in the same directory, fsyncs it, renames it over path and fsyncs the
/// directory. On any failure the temporary file is removed, an IOError is thrown and the old file is untouched.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

/// Reads and fully validates a safetensors file; entries come back in the order of their data offsets.
/// Throws IOError naming the path and the problem when the file is missing or shorter than 8 bytes, the header
/// length exceeds the file or 100 MB, the header is not a JSON object, an entry lacks or has a malformed dtype /
/// shape / data_offsets, a dtype kiln does not know, shape * element size != end - begin, offsets are out of
/// range or reversed, entries overlap or leave gaps in the data buffer, a name repeats, or metadata is not a
/// string-to-string object. Allocates only what the file really holds.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace kiln::io
