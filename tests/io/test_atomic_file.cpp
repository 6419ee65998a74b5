// Tests for write_file_atomic: contents, temp-file naming and cleanup, failures at each step, concurrent writers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "io/atomic_file.h"
#include "io/file_size_limit.h"
#include "kiln/core/error.h"

namespace fs = std::filesystem;
using kiln::IOError;
using kiln::io::AtomicWriter;
using kiln::io::write_file_atomic;

namespace {

testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class AtomicFileTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / ("kiln_atomic_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  // The IOError message of f(), or a failure when it throws nothing.
  template <typename F>
  std::string io_error(F&& f) {
    try {
      f();
    } catch (const IOError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no IOError";
    return "";
  }

  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesBytesAndReplacesAnExistingFile) {
  const std::string p = path("a.bin");
  const std::string first("hello\0world", 11);
  write_file_atomic(p, first.data(), first.size());
  EXPECT_EQ(slurp(p), first);
  write_file_atomic(p, "xy", 2);
  EXPECT_EQ(slurp(p), "xy");
  write_file_atomic(p, nullptr, 0);  // an empty file is a valid result
  EXPECT_TRUE(fs::exists(p));
  EXPECT_EQ(fs::file_size(p), 0u);
  EXPECT_EQ(listing(), std::vector<std::string>{"a.bin"});
}

// A writer killed before its rename leaves "<path>.tmp.<pid>.<n>"; the next write of the same path removes it
// when that process is gone, and leaves a live process's (it may be mid-write) and other files alone.
TEST_F(AtomicFileTest, StaleTemporariesOfDeadWritersAreRemoved) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);  // child is now a pid with no process
  const std::string p = path("ck.safetensors");
  const std::string dead = p + ".tmp." + std::to_string(child) + ".7";
  const std::string live = p + ".tmp." + std::to_string(::getpid()) + ".99";
  const std::string other = path("ck.safetensors.tmp.notes");
  for (const std::string& f : {dead, live, other}) std::ofstream(f) << "x";
  write_file_atomic(p, "new", 3);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(slurp(p), "new");
}

TEST_F(AtomicFileTest, StreamsSeveralWritesThroughTheTemporaryFile) {
  const std::string p = path("s.bin");
  write_file_atomic(p, "old", 3);
  std::string seen_tmp;
  write_file_atomic(p, [&](AtomicWriter& out) {
    seen_tmp = out.temp_path();
    // While the body runs the target is untouched and the temporary file sits beside it.
    EXPECT_EQ(slurp(p), "old");
    EXPECT_TRUE(fs::exists(seen_tmp));
    for (int i = 0; i < 1000; ++i) out.write("0123456789", 10);
  });
  EXPECT_EQ(slurp(p).size(), 10000u);
  EXPECT_EQ(slurp(p).substr(0, 20), "01234567890123456789");
  EXPECT_EQ(fs::path(seen_tmp).parent_path(), dir_);
  EXPECT_TRUE(has_substr(seen_tmp, p + ".tmp." + std::to_string(::getpid()) + "."));
  EXPECT_FALSE(fs::exists(seen_tmp));
  EXPECT_EQ(listing(), std::vector<std::string>{"s.bin"});
}

TEST_F(AtomicFileTest, NewFileGetsUmaskedDefaultMode) {
  const mode_t old = ::umask(022);
  write_file_atomic(path("m.bin"), "x", 1);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path("m.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(AtomicFileTest, ExceptionFromBodyPropagatesAndLeavesOldFile) {
  const std::string p = path("b.bin");
  write_file_atomic(p, "keep", 4);
  EXPECT_THROW(write_file_atomic(p,
                                 [](AtomicWriter& out) {
                                   out.write("partial", 7);
                                   throw std::logic_error("body failed");
                                 }),
               std::logic_error);
  EXPECT_EQ(slurp(p), "keep");
  EXPECT_EQ(listing(), std::vector<std::string>{"b.bin"});
}

TEST_F(AtomicFileTest, FailedWriteLeavesOldFileAndNoTemporary) {
  const std::string p = path("big.bin");
  write_file_atomic(p, "previous", 8);
  const std::string big(1 << 16, 'x');
  std::string msg;
  {
    kiln::test::FileSizeLimit limit(4096);  // the temp file cannot grow past 4 KiB: EFBIG, as on a full disk
    if (!limit.ok()) GTEST_SKIP() << "cannot lower RLIMIT_FSIZE here";
    msg = io_error([&] { write_file_atomic(p, big.data(), big.size(), "test file"); });
  }
  EXPECT_TRUE(has_substr(msg, "test file '" + p + "'"));
  EXPECT_TRUE(has_substr(msg, "write to '" + p + ".tmp."));
  EXPECT_TRUE(has_substr(msg, "File too large"));
  EXPECT_EQ(slurp(p), "previous");
  EXPECT_EQ(listing(), std::vector<std::string>{"big.bin"});
}

TEST_F(AtomicFileTest, MissingDirectoryNamesPathAndReason) {
  const std::string p = path("no/such/dir/x.bin");
  const std::string msg = io_error([&] { write_file_atomic(p, "x", 1, "IDX file"); });
  EXPECT_TRUE(has_substr(msg, "IDX file '" + p + "'"));
  EXPECT_TRUE(has_substr(msg, "cannot create temporary file"));
  EXPECT_TRUE(has_substr(msg, "No such file or directory"));
  EXPECT_TRUE(listing().empty());
}

TEST_F(AtomicFileTest, FailedRenameRemovesTemporary) {
  fs::create_directory(dir_ / "target");  // renaming a file over a directory fails after the data is written
  const std::string msg = io_error([&] { write_file_atomic(path("target"), "x", 1); });
  EXPECT_TRUE(has_substr(msg, "cannot rename"));
  EXPECT_TRUE(fs::is_directory(dir_ / "target"));
  EXPECT_EQ(listing(), std::vector<std::string>{"target"});
}

TEST_F(AtomicFileTest, EmptyPathIsRefused) {
  EXPECT_TRUE(has_substr(io_error([] { write_file_atomic("", "x", 1); }), "the path is empty"));
}

TEST_F(AtomicFileTest, LongFileNameStillGetsATemporaryFile) {
  // A 250-byte name fits the filesystem, but name + ".tmp.<pid>.<n>" would not: the temp name is shortened.
  const std::string p = path(std::string(250, 'n'));
  std::string tmp;
  write_file_atomic(p, [&](AtomicWriter& out) {
    tmp = out.temp_path();
    out.write("long", 4);
  });
  EXPECT_EQ(slurp(p), "long");
  EXPECT_LE(fs::path(tmp).filename().string().size(), 255u);
  EXPECT_EQ(listing().size(), 1u);
}

TEST_F(AtomicFileTest, TemporaryNamesAreUniqueAcrossThreadsAndCalls) {
  constexpr int kThreads = 8, kPerThread = 25;
  std::mutex mu;
  std::set<std::string> temps;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Half the writers share one path, the others each have their own.
        const std::string p = path(i % 2 ? "shared.bin" : "own" + std::to_string(t) + ".bin");
        const std::string body(1000 + t, static_cast<char>('a' + t));
        write_file_atomic(p, [&](AtomicWriter& out) {
          {
            std::lock_guard<std::mutex> lock(mu);
            EXPECT_TRUE(temps.insert(out.temp_path()).second) << "temp name reused: " << out.temp_path();
          }
          // Two halves, so writers to the same path interleave while both temp files are open.
          out.write(body.data(), body.size() / 2);
          std::this_thread::yield();
          out.write(body.data() + body.size() / 2, body.size() - body.size() / 2);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(temps.size(), static_cast<size_t>(kThreads * kPerThread));
  // The shared file is exactly one writer's complete content, never a mix.
  const std::string shared = slurp(path("shared.bin"));
  ASSERT_GE(shared.size(), 1000u);
  const int t = static_cast<int>(shared.size()) - 1000;
  ASSERT_LT(t, kThreads);
  EXPECT_EQ(shared, std::string(1000 + t, static_cast<char>('a' + t)));
  for (int k = 0; k < kThreads; ++k)
    EXPECT_EQ(slurp(path("own" + std::to_string(k) + ".bin")), std::string(1000 + k, static_cast<char>('a' + k)));
  EXPECT_EQ(listing().size(), static_cast<size_t>(kThreads + 1)) << "temporary files were left behind";
}

}  // namespace
