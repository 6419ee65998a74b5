// IDX reading (plain or gzip, sizes checked against real data before allocating) and atomic IDX writing.
#include "io/idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "io/atomic_file.h"
#include "io/fd.h"
#include "kiln/tensor/tensor.h"
#include "kiln/core/error.h"

namespace kiln::io {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw IOError("IDX file '" + path + "': " + what);
}

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// IDX is big-endian; reversing each element converts either way on a little-endian host.
void swap_to_or_from_big_endian(uint8_t* data, size_t bytes, size_t elem) {
  if (elem == 1 || !host_is_little_endian()) return;
  for (size_t i = 0; i + elem <= bytes; i += elem) {
    for (size_t a = i, b = i + elem - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
  }
}

struct TypeCode {
  uint8_t code;
  const char* name;
  size_t file_size;  // bytes per element in the file
  DType dtype;       // what kiln stores it as
};
constexpr TypeCode kTypeCodes[] = {
    {0x08, "unsigned byte", 1, DType::UInt8}, {0x09, "signed byte", 1, DType::Int32},
    {0x0B, "short", 2, DType::Int32},         {0x0C, "int", 4, DType::Int32},
    {0x0D, "float", 4, DType::Float32},       {0x0E, "double", 8, DType::Float64},
};

// Reads the file's bytes, decompressing gzip members as they stream past; read() returns < n only at the end.
class Source {
 public:
  Source(const std::string& path, int fd, bool gzip) : path_(path), fd_(fd), gzip_(gzip) {
    if (gzip_ && inflateInit2(&zs_, 15 + 32) != Z_OK) fail(path_, "cannot initialise zlib");
    zs_init_ = gzip_;
  }
  ~Source() {
    if (zs_init_) inflateEnd(&zs_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  size_t read(uint8_t* dst, size_t n) { return gzip_ ? read_gzip(dst, n) : read_plain(dst, n); }

 private:
  size_t read_plain(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, dst + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) fail(path_, std::string("read failed: ") + std::strerror(errno));
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

  size_t read_gzip(uint8_t* dst, size_t n) {
    zs_.next_out = dst;
    zs_.avail_out = static_cast<uInt>(n);
    while (zs_.avail_out > 0) {
      if (zs_.avail_in == 0 && !eof_) {
        size_t got = read_plain(in_, sizeof(in_));
        eof_ = got < sizeof(in_);
        zs_.next_in = in_;
        zs_.avail_in = static_cast<uInt>(got);
      }
      if (zs_.avail_in == 0) {
        if (!member_done_) fail(path_, "gzip stream is truncated (the file ends in the middle of compressed data)");
        break;
      }
      if (member_done_) {
        if (zs_.next_in[0] != 0x1f) fail(path_, "has bytes after the end of the gzip stream that are not gzip data");
        // gzip allows concatenated members, so start another one.
        inflateReset(&zs_);
        member_done_ = false;
      }
      int ret = inflate(&zs_, Z_NO_FLUSH);
      if (ret == Z_STREAM_END) {
        member_done_ = true;
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        fail(path_, std::string("corrupt gzip data: ") + (zs_.msg ? zs_.msg : zError(ret)));
      }
    }
    return n - zs_.avail_out;
  }

  const std::string& path_;
  int fd_;
  bool gzip_;
  z_stream zs_{};
  bool zs_init_ = false;
  bool eof_ = false;
  bool member_done_ = false;
  uint8_t in_[1 << 16];
};

}  // namespace

IdxArray read_idx(const std::string& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  uint8_t head[4] = {0, 0, 0, 0};
  bool gzip = false;
  if (file_size >= 2) {
    ssize_t r;
    do r = ::pread(file.fd, head, 2, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) fail(path, std::string("read failed: ") + std::strerror(errno));
    gzip = r == 2 && head[0] == 0x1f && head[1] == 0x8b;
  }
  auto src = std::make_unique<Source>(path, file.fd, gzip);
  const std::string kind = gzip ? "decompressed data" : "file";

  size_t got = src->read(head, 4);
  if (got < 4) fail(path, kind + " is " + std::to_string(got) + " bytes, too short for the 4-byte IDX magic");
  if (head[0] != 0 || head[1] != 0)
    fail(path, "bad magic: an IDX file starts with bytes 00 00, this one with " + std::to_string(head[0]) + " " +
                   std::to_string(head[1]) + " (not an IDX file?)");
  const TypeCode* type = nullptr;
  for (const TypeCode& t : kTypeCodes)
    if (t.code == head[2]) type = &t;
  if (!type)
    fail(path, "unknown IDX type code " + std::to_string(head[2]) +
                   " (known: 0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)");
  const size_t ndim = head[3];

  std::vector<uint8_t> dims_raw(4 * ndim);
  got = src->read(dims_raw.data(), dims_raw.size());
  if (got < dims_raw.size())
    fail(path, "header is truncated: " + std::to_string(ndim) + " dims need " + std::to_string(dims_raw.size()) +
                   " bytes after the magic, but the " + kind + " has only " + std::to_string(got));

  IdxArray out;
  out.dtype = type->dtype;
  uint64_t numel = 1;
  bool overflow = false;
  for (size_t i = 0; i < ndim; ++i) {
    const uint8_t* d = &dims_raw[4 * i];
    uint64_t dim = (uint64_t{d[0]} << 24) | (uint64_t{d[1]} << 16) | (uint64_t{d[2]} << 8) | d[3];
    out.shape.push_back(static_cast<int64_t>(dim));
    if (dim != 0 && numel > (UINT64_MAX / 8) / dim) overflow = true;
    numel *= dim;
  }
  if (overflow) fail(path, "shape " + shape_to_string(out.shape) + " is too large (element count overflows)");
  const uint64_t expected = numel * type->file_size;
  const std::string what = std::to_string(expected) + " payload bytes for shape " + shape_to_string(out.shape) +
                           " of " + type->name;

  const uint64_t header_bytes = 4 + 4 * ndim;
  if (!gzip) {
    // The real size is known: refuse a lying header before allocating anything.
    const uint64_t actual = file_size - header_bytes;
    if (actual < expected)
      fail(path, "file is truncated: expected " + what + ", but only " + std::to_string(actual) + " are present");
    if (actual > expected)
      fail(path, "file has " + std::to_string(actual - expected) + " trailing bytes after the expected " + what);
  }
  // Grow the buffer as data really arrives, so a gzip header that lies cannot make us allocate its claim.
  std::vector<uint8_t> raw;
  raw.reserve(static_cast<size_t>(std::min<uint64_t>(expected, gzip ? (64u << 20) : expected)));
  uint8_t chunk[1 << 16];
  while (raw.size() < expected) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof(chunk), expected - raw.size()));
    got = src->read(chunk, want);
    raw.insert(raw.end(), chunk, chunk + got);
    if (got < want) break;
  }
  if (raw.size() < expected)
    fail(path, kind + " is truncated: expected " + what + ", but only " + std::to_string(raw.size()) +
                   " are present");
  uint64_t trailing = 0;
  const uint64_t kCountLimit = 64u << 20;  // enough to say how much; stop so a gzip bomb cannot spin us
  while (trailing <= kCountLimit && (got = src->read(chunk, sizeof(chunk))) > 0) trailing += got;
  if (trailing > 0)
    fail(path, kind + " has " + (trailing > kCountLimit ? "more than 64 MiB of" : std::to_string(trailing)) +
                   " trailing bytes after the expected " + what);

  if (type->code == 0x09 || type->code == 0x0B) {
    out.bytes.resize(numel * sizeof(int32_t));
    for (uint64_t i = 0; i < numel; ++i) {
      int32_t v = type->code == 0x09 ? int32_t{static_cast<int8_t>(raw[i])}
                                     : int32_t{static_cast<int16_t>((raw[2 * i] << 8) | raw[2 * i + 1])};
      std::memcpy(&out.bytes[i * sizeof(int32_t)], &v, sizeof(v));
    }
  } else {
    swap_to_or_from_big_endian(raw.data(), raw.size(), type->file_size);
    out.bytes = std::move(raw);
  }
  return out;
}

void write_idx(const std::string& path, const IdxArray& arr, bool gzip) {
  uint8_t code = 0;
  switch (arr.dtype) {
    case DType::UInt8: code = 0x08; break;
    case DType::Int32: code = 0x0C; break;
    case DType::Float32: code = 0x0D; break;
    case DType::Float64: code = 0x0E; break;
    default:
      fail(path, std::string("cannot write dtype ") + dtype_name(arr.dtype) +
                     ": IDX holds only uint8, int32, float32 and float64");
  }
  if (arr.shape.size() > 255) fail(path, "IDX allows at most 255 dims, got " + std::to_string(arr.shape.size()));
  const size_t elem = element_size(arr.dtype);
  std::vector<uint8_t> buf = {0, 0, code, static_cast<uint8_t>(arr.shape.size())};
  uint64_t numel = 1;
  for (int64_t d : arr.shape) {
    if (d < 0 || d > int64_t{UINT32_MAX})
      fail(path, "shape " + shape_to_string(arr.shape) + " has a dim outside [0, 2^32), which IDX cannot store");
    for (int s = 24; s >= 0; s -= 8) buf.push_back(static_cast<uint8_t>(d >> s));
    if (d != 0 && numel > (UINT64_MAX / 8) / static_cast<uint64_t>(d))
      fail(path, "shape " + shape_to_string(arr.shape) + " is too large (element count overflows)");
    numel *= static_cast<uint64_t>(d);
  }
  if (arr.bytes.size() != numel * elem)
    fail(path, "shape " + shape_to_string(arr.shape) + " of " + dtype_name(arr.dtype) + " needs " +
                   std::to_string(numel * elem) + " bytes, but the array has " + std::to_string(arr.bytes.size()));
  const size_t header = buf.size();
  buf.insert(buf.end(), arr.bytes.begin(), arr.bytes.end());
  swap_to_or_from_big_endian(buf.data() + header, arr.bytes.size(), elem);

  write_file_atomic(
      path,
      [&](AtomicWriter& out) {
        if (!gzip) {
          out.write(buf.data(), buf.size());
        } else {
          z_stream zs{};
          if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            fail(path, "cannot initialise zlib");
          std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
          std::vector<uint8_t> chunk(1 << 16);
          zs.next_in = buf.data();
          size_t left = buf.size();
          int ret = Z_OK;
          while (ret != Z_STREAM_END) {
            // avail_in is 32-bit, so feed huge buffers in slices.
            if (zs.avail_in == 0 && left > 0) {
              zs.avail_in = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
              left -= zs.avail_in;
            }
            zs.next_out = chunk.data();
            zs.avail_out = static_cast<uInt>(chunk.size());
            ret = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
            if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
              fail(path, std::string("gzip compression failed: ") + zError(ret));
            out.write(chunk.data(), chunk.size() - zs.avail_out);
          }
        }
      },
      "IDX file");
}

}  // namespace kiln::io
