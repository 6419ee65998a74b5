// The one temp-file + fsync + rename + directory-fsync routine behind every file kiln writes.
#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "kiln/core/error.h"

namespace kiln::io {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, const std::string& problem, int err) {
  throw IOError(what + " '" + path + "': " + problem + ": " + std::strerror(err != 0 ? err : EIO));
}

// Linux's NAME_MAX; a temp name longer than this would fail with ENAMETOOLONG although the target fits.
constexpr size_t kNameMax = 255;

// "<path>.tmp.<pid>.<n>", with path's last component shortened when the suffix would push it past NAME_MAX.
std::string temp_name(const std::string& path, uint64_t n) {
  const std::string suffix = ".tmp." + std::to_string(static_cast<long>(::getpid())) + "." + std::to_string(n);
  const size_t slash = path.find_last_of('/');
  const size_t base_start = slash == std::string::npos ? 0 : slash + 1;
  const size_t base_len = path.size() - base_start;
  if (base_len + suffix.size() <= kNameMax) return path + suffix;
  return path.substr(0, base_start + (kNameMax - suffix.size())) + suffix;
}

// The directory holding path, whose entry for the renamed file must reach the disk too.
std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Removes "<path>.tmp.<pid>.<n>" files left by writers of `path` that were killed before they could clean up:
// those whose process no longer exists. A live process's (this one's included) are left alone.
void remove_stale_temps(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = parent_dir(path);
  const std::string prefix = path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());  // "<pid>.<n>"
    const size_t dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || dot > 9 || dot + 1 == rest.size() ||
        rest.find_first_not_of("0123456789.") != std::string::npos || rest.find('.', dot + 1) != std::string::npos)
      continue;
    const long pid = std::stol(rest.substr(0, dot));  // at most 9 digits: cannot overflow
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH))
      ::unlink((dir + "/" + name).c_str());
  }
  ::closedir(d);
}

// Owns the temporary file until it is renamed: every exit before that closes and removes it.
struct TempFile {
  std::string name;
  int fd = -1;
  bool renamed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed && !name.empty()) ::unlink(name.c_str());
  }
};

}  // namespace

void AtomicWriter::write(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail(what_, path_, "write to '" + tmp_ + "' failed", errno);
    if (w == 0) fail(what_, path_, "write to '" + tmp_ + "' made no progress", EIO);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void write_file_atomic(const std::string& path, const std::function<void(AtomicWriter&)>& body,
                       const std::string& what) {
  if (path.empty()) fail(what, path, "the path is empty", ENOENT);
  remove_stale_temps(path);
  // One counter for the whole process: unique across threads; the pid makes it unique across processes.
  static std::atomic<uint64_t> counter{0};
  TempFile tmp;
  // O_EXCL never reuses a name; a clash can only be a leftover of a crashed process with a recycled pid.
  for (int attempt = 0; tmp.fd < 0; ++attempt) {
    std::string name = temp_name(path, counter.fetch_add(1, std::memory_order_relaxed));
    const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      tmp.name = std::move(name);
      tmp.fd = fd;
    } else if (errno != EEXIST || attempt >= 100) {
      fail(what, path, "cannot create temporary file '" + name + "'", errno);
    }
  }

  AtomicWriter writer(tmp.fd, path, tmp.name, what);
  body(writer);

  if (::fsync(tmp.fd) != 0) fail(what, path, "fsync of '" + tmp.name + "' failed", errno);
  const int fd = tmp.fd;
  tmp.fd = -1;
  // close() can report a deferred write error (NFS, quotas): the data would be lost, so it is a failure.
  if (::close(fd) != 0) fail(what, path, "close of '" + tmp.name + "' failed", errno);
  if (::rename(tmp.name.c_str(), path.c_str()) != 0)
    fail(what, path, "cannot rename '" + tmp.name + "' over it", errno);
  tmp.renamed = true;

  // Without this the rename may be lost in a crash. A directory we cannot open (no read permission) or whose
  // filesystem does not support fsync on directories is skipped: the file itself is already complete.
  const std::string dir = parent_dir(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0 && err != EINVAL && err != ENOTSUP)
    fail(what, path, "the new file is in place, but fsync of directory '" + dir +
                         "' failed, so it may not survive a crash", err);
}

void write_file_atomic(const std::string& path, const void* data, size_t n, const std::string& what) {
  write_file_atomic(path, [&](AtomicWriter& out) { out.write(data, n); }, what);
}

}  // namespace kiln::io
