// safetensors reading with full header validation, and writing (atomic via write_file_atomic), per the huggingface/safetensors spec.
#include "io/safetensors_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "io/fd.h"
#include "kiln/tensor/tensor.h"
#include "kiln/core/error.h"

namespace kiln::io {
namespace {

using Json = nlohmann::ordered_json;  // ordered, so the header lists tensors in file order

// The Python package refuses larger headers (MAX_HEADER_SIZE); so do we, before allocating one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw IOError("safetensors file '" + path + "': " + what);
}

const char* dtype_code(DType t) { return dtype_info(t).safetensors; }

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// safetensors data is little-endian; a big-endian host reverses each element (the same call converts back).
void to_or_from_little_endian(std::vector<uint8_t>& bytes, size_t elem) {
  if (elem == 1 || host_is_little_endian()) return;
  for (size_t i = 0; i + elem <= bytes.size(); i += elem) std::reverse(&bytes[i], &bytes[i] + elem);
}

// prod(shape) * elem, or false when a dim is negative or the product overflows.
bool byte_size(const std::vector<int64_t>& shape, size_t elem, uint64_t* out) {
  uint64_t n = elem;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  *out = n;
  return true;
}

void read_exact(const std::string& path, int fd, uint8_t* dst, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, dst, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(path, std::string("read failed: ") + std::strerror(errno));
    if (r == 0) fail(path, "file ended early (was it changed while being read?)");
    dst += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

// A safetensors header nests three levels (header, entry, shape); deeper input is refused while parsing, so
// no recursive walk (destruction, dump) of a hostile 100,000-level value can overflow the stack.
constexpr int kMaxHeaderDepth = 16;

// Text from the file for an error message: short, whatever the file holds (a name or a parser's excerpt can be
// megabytes long).
std::string clip(const std::string& s, size_t max = 80) { return s.size() <= max ? s : s.substr(0, max - 3) + "..."; }

// A JSON value for an error message.
std::string brief(const Json& v) { return clip(v.dump()); }

// Parses the header, refusing duplicate keys at any depth (nlohmann would silently keep the last one).
Json parse_header(const std::string& path, const std::string& text) {
  std::vector<std::set<std::string>> seen;
  Json::parser_callback_t cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxHeaderDepth)
      fail(path, "header nests deeper than " + std::to_string(kMaxHeaderDepth) + " levels (corrupt file?)");
    if (event == Json::parse_event_t::object_start) seen.emplace_back();
    if (event == Json::parse_event_t::object_end) seen.pop_back();
    if (event == Json::parse_event_t::key && !seen.back().insert(parsed.get<std::string>()).second)
      fail(path, "header has the key '" + clip(parsed.get<std::string>()) + "' twice (duplicate tensor name?)");
    return true;
  };
  try {
    return Json::parse(text, cb);
  } catch (const Json::exception& e) {
    fail(path, "header is not valid JSON: " + clip(e.what(), 300));
  }
}

uint64_t get_uint(const std::string& path, const std::string& name, const char* field, const Json& v) {
  if (!v.is_number_unsigned())
    fail(path, "tensor '" + clip(name) + "': " + field + " must hold non-negative integers, got " + brief(v));
  return v.get<uint64_t>();
}

struct Parsed {
  SafetensorsEntry entry;
  uint64_t begin, end;
};

Parsed parse_entry(const std::string& path, const std::string& name, const Json& info, uint64_t buffer_size) {
  Parsed p;
  p.entry.name = name;
  if (!info.is_object()) fail(path, "tensor '" + clip(name) + "': entry must be a JSON object, got " + brief(info));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!info.contains(key)) fail(path, "tensor '" + clip(name) + "': missing '" + key + "'");

  const Json& dtype = info["dtype"];
  if (!dtype.is_string()) fail(path, "tensor '" + clip(name) + "': dtype must be a string, got " + brief(dtype));
  const DTypeInfo* code = nullptr;
  std::string known;
  for (int i = 0; i < kNumDTypeRows; ++i) {
    if (dtype.get<std::string>() == kDTypes[i].safetensors) code = &kDTypes[i];
    known += std::string(known.empty() ? "" : ", ") + kDTypes[i].safetensors;
  }
  if (!code) fail(path, "tensor '" + clip(name) + "': unknown or unsupported dtype " + brief(dtype) + " (kiln reads " + known + ")");
  p.entry.dtype = code->dtype;

  const Json& shape = info["shape"];
  if (!shape.is_array()) fail(path, "tensor '" + clip(name) + "': shape must be an array, got " + brief(shape));
  for (const Json& d : shape) {
    uint64_t dim = get_uint(path, name, "shape", d);
    if (dim > static_cast<uint64_t>(INT64_MAX))
      fail(path, "tensor '" + clip(name) + "': shape dim " + brief(d) + " is too large");
    p.entry.shape.push_back(static_cast<int64_t>(dim));
  }

  const Json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, "tensor '" + clip(name) + "': data_offsets must be [begin, end], got " + brief(offsets));
  p.begin = get_uint(path, name, "data_offsets", offsets[0]);
  p.end = get_uint(path, name, "data_offsets", offsets[1]);
  const std::string range = "data_offsets [" + std::to_string(p.begin) + ", " + std::to_string(p.end) + "]";
  if (p.begin > p.end) fail(path, "tensor '" + clip(name) + "': " + range + " has begin > end");
  if (p.end > buffer_size)
    fail(path, "tensor '" + clip(name) + "': " + range + " is out of range: the data buffer holds " +
                   std::to_string(buffer_size) + " bytes");
  uint64_t want = 0;
  const bool fits = byte_size(p.entry.shape, element_size(p.entry.dtype), &want);
  if (!fits || want != p.end - p.begin)
    fail(path, "tensor '" + clip(name) + "': shape " + shape_to_string(p.entry.shape) + " of " + code->safetensors + " needs " +
                   (fits ? std::to_string(want) : std::string("more than 2^64")) + " bytes, but " + range +
                   " spans " + std::to_string(p.end - p.begin));
  return p;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8)
    fail(path, "file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");

  uint8_t len_bytes[8];
  read_exact(path, file.fd, len_bytes, 8, 0);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(header_len) + " is larger than the 100 MB limit (corrupt file?)");
  if (header_len > file_size - 8)
    fail(path, "header length " + std::to_string(header_len) + " is larger than the file (" +
                   std::to_string(file_size) + " bytes)");
  std::string text(header_len, '\0');
  read_exact(path, file.fd, reinterpret_cast<uint8_t*>(text.data()), header_len, 8);
  const uint64_t data_start = 8 + header_len, buffer_size = file_size - data_start;

  Json header = parse_header(path, text);
  if (!header.is_object()) fail(path, "header must be a JSON object, got a " + std::string(header.type_name()));

  SafetensorsFile out;
  std::vector<Parsed> parsed;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(path, "__metadata__ must be an object of strings, got " + brief(*it));
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          fail(path, "__metadata__ value for '" + clip(m.key()) + "' must be a string, got " + brief(*m));
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    parsed.push_back(parse_entry(path, it.key(), *it, buffer_size));
  }

  // The spec requires the entries to tile the data buffer exactly: no overlaps, no holes, nothing left over.
  std::stable_sort(parsed.begin(), parsed.end(), [](const Parsed& a, const Parsed& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const std::string* prev = nullptr;
  for (const Parsed& p : parsed) {
    if (p.begin < covered)
      fail(path, "tensors '" + clip(*prev) + "' and '" + clip(p.entry.name) + "' overlap in the data buffer (at byte " +
                     std::to_string(p.begin) + ")");
    if (p.begin > covered)
      fail(path, "gap in the data buffer: bytes [" + std::to_string(covered) + ", " + std::to_string(p.begin) +
                     ") belong to no tensor");
    covered = p.end;
    prev = &p.entry.name;
  }
  if (covered != buffer_size)
    fail(path, "gap in the data buffer: trailing bytes [" + std::to_string(covered) + ", " +
                   std::to_string(buffer_size) + ") belong to no tensor");

  // Every size is now checked against the real file, so these allocations are bounded by it.
  for (Parsed& p : parsed) {
    p.entry.bytes.resize(p.end - p.begin);
    read_exact(path, file.fd, p.entry.bytes.data(), p.entry.bytes.size(), data_start + p.begin);
    to_or_from_little_endian(p.entry.bytes, element_size(p.entry.dtype));
    out.entries.push_back(std::move(p.entry));
  }
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  Json header = Json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsEntry& e : file.entries) {
    if (e.name.empty()) fail(path, "a tensor has an empty name");
    if (e.name == "__metadata__") fail(path, "'__metadata__' is reserved and cannot name a tensor");
    if (!names.insert(e.name).second) fail(path, "tensor name '" + e.name + "' appears twice");
    uint64_t want = 0;
    if (!byte_size(e.shape, element_size(e.dtype), &want))
      fail(path, "tensor '" + e.name + "': shape " + shape_to_string(e.shape) + " has a negative dim or is too large");
    if (want != e.bytes.size())
      fail(path, "tensor '" + e.name + "': shape " + shape_to_string(e.shape) + " of " + dtype_code(e.dtype) +
                     " needs " + std::to_string(want) + " bytes, but the entry has " + std::to_string(e.bytes.size()));
    header[e.name] = {{"dtype", dtype_code(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + want}}};
    offset += want;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {
    fail(path, std::string("cannot encode the header (names and metadata must be UTF-8): ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the spec pads with spaces so the data starts 8-aligned
  if (text.size() > kMaxHeaderBytes)
    fail(path, "header would be " + std::to_string(text.size()) + " bytes, over the 100 MB that readers accept");

  uint8_t len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(uint64_t{text.size()} >> (8 * i));
  write_file_atomic(
      path,
      [&](AtomicWriter& out) {
        out.write(len_bytes, 8);
        out.write(text.data(), text.size());
        for (const SafetensorsEntry& e : file.entries) {
          if (host_is_little_endian()) {
            out.write(e.bytes.data(), e.bytes.size());
          } else {
            std::vector<uint8_t> le = e.bytes;
            to_or_from_little_endian(le, element_size(e.dtype));
            out.write(le.data(), le.size());
          }
        }
      },
      "safetensors file");
}

}  // namespace kiln::io
