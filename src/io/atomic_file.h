// Crash-safe file replacement: write a temporary file beside the target, fsync it, rename it over the target.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace kiln::io {

class AtomicWriter;

/// Replaces path with the bytes body writes, atomically: readers (and a crash at any moment) see either the old
/// file or the complete new one, never a partial one.
/// How: body writes to a fresh temporary file "<path>.tmp.<pid>.<n>" in path's directory (n is a process-wide
/// counter, so concurrent writers in any thread or process never share one, even for the same path: the last
/// rename wins), which is fsynced, closed, renamed over path, and then the directory is fsynced so the rename
/// itself is durable. The new file gets mode 0666 minus the umask.
/// On any failure, including an exception thrown by body (which propagates unchanged), the temporary file is
/// removed and path is left as it was. kiln's own failures throw IOError "<what> '<path>': <problem>: <strerror>",
/// e.g. what = "safetensors file". Only a failed fsync of the directory is reported after the rename happened.
void write_file_atomic(const std::string& path, const std::function<void(AtomicWriter&)>& body,
                       const std::string& what = "file");

/// Replaces path with the n bytes at data, atomically (see the streaming overload).
void write_file_atomic(const std::string& path, const void* data, size_t n, const std::string& what = "file");

/// The sink write_file_atomic hands to its body; every byte goes to the temporary file.
class AtomicWriter {
 public:
  /// Writes all n bytes (retrying short writes and EINTR). Throws IOError "<what> '<path>': write to '<tmp>'
  /// failed: <strerror>" on failure (disk full, file size limit, I/O error).
  void write(const void* data, size_t n);
  /// The temporary file being written (for messages; it disappears once write_file_atomic returns).
  const std::string& temp_path() const { return tmp_; }

 private:
  friend void write_file_atomic(const std::string&, const std::function<void(AtomicWriter&)>&, const std::string&);
  AtomicWriter(int fd, const std::string& path, const std::string& tmp, const std::string& what)
      : fd_(fd), path_(path), tmp_(tmp), what_(what) {}
  int fd_;
  const std::string& path_;
  const std::string& tmp_;
  const std::string& what_;
};

}  // namespace kiln::io
