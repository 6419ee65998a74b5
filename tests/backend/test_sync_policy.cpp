// The sync counter and sync debug mode (backend/cuda/host_sync.h): every host wait for a GPU goes through
// note_host_sync, so its policy is checked here on the CPU; the GPU tests check that a step makes no wait.
#include <gtest/gtest.h>

#include <string>

#include "backend/cuda/host_sync.h"
#include "kiln/core/error.h"
#include "kiln/cuda/cuda.h"

namespace kiln::cuda {
namespace {
using detail::note_host_sync;
using detail::SyncKind;

struct ModeGuard {
  ~ModeGuard() { set_sync_debug_mode(SyncDebugMode::Off); }
};

TEST(SyncPolicy, EveryWaitIsCountedByCause) {
  const SyncCounts before = sync_counts();
  note_host_sync(SyncKind::Requested, "test");
  note_host_sync(SyncKind::Implicit, "test");
  note_host_sync(SyncKind::Implicit, "test");
  note_host_sync(SyncKind::Internal, "test");
  const SyncCounts after = sync_counts();
  EXPECT_EQ(after.requested - before.requested, 1);
  EXPECT_EQ(after.implicit - before.implicit, 2);
  EXPECT_EQ(after.internal - before.internal, 1);
  EXPECT_EQ(after.total() - before.total(), 4);
}

TEST(SyncPolicy, ErrorModeRefusesOnlyWaitsTheProgramDidNotAskFor) {
  ModeGuard restore;
  set_sync_debug_mode(SyncDebugMode::Error);
  EXPECT_EQ(get_sync_debug_mode(), SyncDebugMode::Error);
  const SyncCounts before = sync_counts();
  try {
    note_host_sync(SyncKind::Implicit, "a copy from a GPU to host memory");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("synchronizing CUDA operation: a copy from a GPU"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(note_host_sync(SyncKind::Requested, "cuda::synchronize"));
  EXPECT_NO_THROW(note_host_sync(SyncKind::Internal, "freeing cached blocks"));
  const SyncCounts after = sync_counts();
  EXPECT_EQ(after.implicit, before.implicit);  // refused before waiting: no wait happened
  EXPECT_EQ(after.requested - before.requested, 1);
}

TEST(SyncPolicy, WarnModePrintsTheCause) {
  ModeGuard restore;
  set_sync_debug_mode(SyncDebugMode::Warn);
  testing::internal::CaptureStderr();
  note_host_sync(SyncKind::Implicit, "a copy from a GPU to host memory (.item())");
  note_host_sync(SyncKind::Requested, "cuda::synchronize");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("warning: called a synchronizing CUDA operation: a copy from a GPU to host memory (.item())"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("cuda::synchronize"), std::string::npos) << err;
}

TEST(SyncPolicy, OffByDefault) { EXPECT_EQ(get_sync_debug_mode(), SyncDebugMode::Off); }
}  // namespace
}  // namespace kiln::cuda
