// Fd: owns a POSIX file descriptor so that every error path of the file readers closes it.
#pragma once
#include <unistd.h>

namespace kiln::io {
struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace kiln::io
