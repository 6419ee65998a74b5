// Test helper: makes file writes fail (EFBIG, like a full disk) past a byte limit, for the scope of one object.
#pragma once
#include <sys/resource.h>

#include <csignal>

namespace kiln::test {

/// Lowers RLIMIT_FSIZE to `bytes` and ignores SIGXFSZ, so a write() crossing the limit fails with EFBIG instead
/// of killing the process; both are restored on destruction. Affects the whole process: use in serial tests only.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ok_ = ::getrlimit(RLIMIT_FSIZE, &old_) == 0;
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = old_;
    lowered.rlim_cur = bytes;
    ok_ = ok_ && ::setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  /// Whether the limit is in force (a test should skip when it is not).
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = SIG_DFL;
  bool ok_ = false;
};

}  // namespace kiln::test
