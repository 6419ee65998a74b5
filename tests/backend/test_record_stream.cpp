// Tests of streams carried by kernel arguments and of Tensor::record_stream with the CUDA caching allocator.
// Suites named CUDA* need a GPU and skip without one; the others run anywhere.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gpu_skip.h"
#include "kiln/kiln.h"
#include "ops/copy/copy_kernels.h"
#include "ops/elementwise/iter.h"

namespace cuda = kiln::cuda;
using kiln::Device;
using kiln::Tensor;
using kiln::TensorOptions;

namespace {

// 12 MiB of float32: over 10 MiB, so the caching allocator gives it a segment of its own, never split or shared.
constexpr int64_t kBlockFloats = 3 * 1024 * 1024;

TensorOptions on_gpu() { return TensorOptions().device(Device("cuda:0")); }

/// Queues tens of milliseconds of GPU work on the current stream (matrix products of a [4096, 4096] float32
/// matrix), so that the host steps a test takes next (microseconds) happen while it is still running.
void queue_slow_work(const Tensor& a) {
  for (int i = 0; i < 40; ++i) (void)kiln::matmul(a, a);
}

/// A [4096, 4096] input for queue_slow_work on `side`, made on the current stream: `side` waits for it, and it
/// is marked as used there so freeing it stays safe.
Tensor slow_work_input(const cuda::Stream& side) {
  Tensor a = kiln::randn({4096, 4096}, on_gpu());
  cuda::Event made;
  made.record(cuda::current_stream(0));
  made.wait(side);
  a.record_stream(side);
  return a;
}

// ---- anywhere ----

TEST(RecordStream, IsANoOpForCpuTensors) {
  Tensor t = kiln::ones({3});
  EXPECT_NO_THROW(t.record_stream(cuda::Stream()));
  EXPECT_NO_THROW(t.record_stream(cuda::Stream(nullptr, 3)));  // no GPU is involved, so no device check
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

TEST(RecordStream, UndefinedTensorIsAnError) { EXPECT_THROW(Tensor().record_stream(cuda::Stream()), kiln::ValueError); }

TEST(OpStream, CpuKernelArgumentsCarryANullStream) {
  Tensor t = kiln::zeros({4});
  const kiln::ops::ElementwiseIter it = kiln::ops::make_elementwise_iter(t, {}, "fill_");
  EXPECT_EQ(it.stream.handle(), nullptr);
}

// ---- with a GPU ----

TEST(CUDAOpStream, FrontEndFillsTheCurrentStreamAndTheLauncherUsesIt) {
  KILN_SKIP_WITHOUT_GPU();
  const cuda::Stream main = cuda::current_stream(0), side = cuda::new_stream(0);
  Tensor t = kiln::zeros({1024}, on_gpu());
  EXPECT_TRUE(kiln::ops::make_elementwise_iter(t, {}, "fill_").stream == main);
  Tensor a = slow_work_input(side);
  kiln::ops::ElementwiseIter it;
  {
    cuda::StreamGuard g(side);
    queue_slow_work(a);
    it = kiln::ops::make_elementwise_iter(t, {}, "fill_");
  }
  EXPECT_TRUE(it.stream == side);
  // The current stream is `main` again: the launcher must still queue the fill on side, behind the slow work.
  kiln::ops::fill_stub(kiln::kCUDA, it, kiln::Scalar(5.0));
  cuda::Event filled;
  filled.record(side);
  const std::vector<float> early = t.to_vector<float>();  // copied on main, which does not wait for side
  ASSERT_FALSE(filled.query()) << "precondition: the side stream should still be busy; lengthen queue_slow_work";
  EXPECT_EQ(early[0], 0.0f) << "the fill ran on the current stream instead of the one its arguments carry";
  side.synchronize();
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(1024, 5.0f));
}

TEST(CUDARecordStream, BlockUsedOnASideStreamIsNotReusedBeforeThatStreamIsDone) {
  KILN_SKIP_WITHOUT_GPU();
  cuda::empty_cache();
  const cuda::Stream side = cuda::new_stream(0);
  Tensor a = slow_work_input(side);
  // A cached block for the allocation below, so it needs no cudaMalloc while the side stream runs (cudaMalloc
  // is allowed to synchronise).
  Tensor spare = kiln::empty({kBlockFloats}, on_gpu());
  Tensor t = kiln::zeros({kBlockFloats}, on_gpu());  // allocated on the default stream
  void* const p = t.data_ptr();
  spare = Tensor();
  cuda::Event made;
  made.record(cuda::current_stream(0));
  made.wait(side);
  cuda::Event side_done;
  {
    cuda::StreamGuard g(side);
    queue_slow_work(a);
    t.fill_(1.0);  // the side stream writes t last, after tens of milliseconds
    side_done.record(side);
  }
  t.record_stream(side);
  const int64_t device_allocs = cuda::memory_stats(0).num_device_allocs;
  t = Tensor();  // freed by the host while the side stream's write is still queued
  Tensor u = kiln::empty({kBlockFloats}, on_gpu());
  ASSERT_FALSE(side_done.query()) << "precondition: the side stream should still be busy; lengthen queue_slow_work";
  // The free did not wait for the side stream (it is still busy), and its block was not handed out again.
  EXPECT_NE(u.data_ptr(), p) << "a block still used by the side stream was handed out";
  side.synchronize();
  Tensor w = kiln::empty({kBlockFloats}, on_gpu());
  EXPECT_EQ(w.data_ptr(), p) << "the block was not reused once the side stream was done with it";
  EXPECT_EQ(cuda::memory_stats(0).num_device_allocs, device_allocs) << "u and w should both reuse cached blocks";
}

TEST(CUDARecordStream, AllocationStreamNeedsNoWait) {
  KILN_SKIP_WITHOUT_GPU();
  cuda::empty_cache();
  Tensor t = kiln::zeros({kBlockFloats}, on_gpu());
  void* const p = t.data_ptr();
  t.record_stream(cuda::current_stream(0));
  t.record_stream(cuda::Stream());  // a null handle is kiln's default stream, the current one here
  t = Tensor();
  Tensor u = kiln::empty({kBlockFloats}, on_gpu());
  EXPECT_EQ(u.data_ptr(), p);  // work on one stream is ordered: reused at once, as without record_stream
}

TEST(CUDARecordStream, EmptyCacheWaitsForParkedBlocksAndReturnsThem) {
  KILN_SKIP_WITHOUT_GPU();
  const cuda::Stream side = cuda::new_stream(0);
  Tensor a = slow_work_input(side);
  cuda::empty_cache();
  const int64_t reserved = cuda::memory_reserved(0);
  Tensor t = kiln::zeros({kBlockFloats}, on_gpu());
  cuda::Event made;
  made.record(cuda::current_stream(0));
  made.wait(side);
  {
    cuda::StreamGuard g(side);
    queue_slow_work(a);
    t.fill_(2.0);
  }
  t.record_stream(side);
  t = Tensor();
  cuda::empty_cache();  // waits for the device, so the parked block is free and its segment whole
  EXPECT_EQ(cuda::memory_reserved(0), reserved);
}

TEST(CUDARecordStream, StreamOfAnotherGpuIsADeviceError) {
  KILN_SKIP_WITHOUT_GPU();
  Tensor t = kiln::zeros({16}, on_gpu());
  try {
    t.record_stream(cuda::Stream(nullptr, 1));  // checked against the tensor before any GPU 1 is looked up
    FAIL() << "expected DeviceError";
  } catch (const kiln::DeviceError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cuda:1"), std::string::npos) << msg;
  }
}

TEST(CUDARecordStream, ViewsMarkTheirWholeStorage) {
  KILN_SKIP_WITHOUT_GPU();
  cuda::empty_cache();
  const cuda::Stream side = cuda::new_stream(0);
  Tensor a = slow_work_input(side);
  Tensor spare = kiln::empty({kBlockFloats}, on_gpu());  // cached for u below (see the test above)
  Tensor t = kiln::zeros({kBlockFloats}, on_gpu());
  void* const p = t.data_ptr();
  spare = Tensor();
  Tensor tail = t.narrow(0, 1024, 1024);  // data_ptr() inside the block, not at its start
  cuda::Event made;
  made.record(cuda::current_stream(0));
  made.wait(side);
  cuda::Event side_done;
  {
    cuda::StreamGuard g(side);
    queue_slow_work(a);
    tail.fill_(3.0);
    side_done.record(side);
  }
  tail.record_stream(side);
  t = Tensor();
  tail = Tensor();
  Tensor u = kiln::empty({kBlockFloats}, on_gpu());
  ASSERT_FALSE(side_done.query()) << "precondition: the side stream should still be busy; lengthen queue_slow_work";
  EXPECT_NE(u.data_ptr(), p);
  side.synchronize();
}
}  // namespace
