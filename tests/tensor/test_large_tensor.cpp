// Tensors with more than 2^31 elements on the GPU: fill, sum, copy and argmax must index with 64 bits.
// Named CUDA* (CTest's cuda label); each case skips when the GPU has too little free memory for it.
#include <cstdint>
#include <string>

#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/reduce.h"
#include "test_util.h"

namespace {
using namespace kiln;

constexpr int64_t kTwoPow31 = int64_t{1} << 31;
// Past INT32_MAX by more than a few thousand elements, so an index kept in 32 bits wraps well inside the tensor.
constexpr int64_t kElements = kTwoPow31 + 4099;

/// Skips the test unless the first GPU has `bytes` free, plus room for reductions' scratch and cuBLAS.
#define SKIP_WITHOUT_FREE_GPU_MEMORY(bytes)                                                                   \
  do {                                                                                                        \
    const size_t need_ = static_cast<size_t>(bytes) + (size_t{512} << 20);                                    \
    const size_t free_ = ::kiln::cuda::mem_get_info(0).first;                                                 \
    if (free_ < need_)                                                                                        \
      GTEST_SKIP() << "needs " << (need_ >> 20) << " MiB of free GPU memory, " << (free_ >> 20) << " are free"; \
  } while (0)

TensorOptions on_gpu(DType t) { return TensorOptions().dtype(t).device(Device("cuda:0")); }

// uint8: 2 GiB a tensor, and an exact int64 sum.
TEST(CUDALargeTensor, UInt8FillSumCopyArgmax) {
  KILN_SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_FREE_GPU_MEMORY(2 * kElements);
  Tensor t = empty({kElements}, on_gpu(kUInt8));
  t.fill_(1);
  EXPECT_EQ(t.sum().item<int64_t>(), kElements);

  // One larger value past 2^31 (argmax must return its index, which int32 cannot hold) and a smaller
  // one near the end.
  const int64_t peak = kTwoPow31 + 7;
  t.narrow(0, peak, 1).fill_(9);
  t.narrow(0, kElements - 1, 1).fill_(5);
  EXPECT_EQ(argmax(t).item<int64_t>(), peak);

  Tensor c = t.clone();
  t.fill_(0);  // the copy must not share storage with the original
  EXPECT_EQ(c.sum().item<int64_t>(), kElements + 8 + 4);
  EXPECT_EQ(argmax(c).item<int64_t>(), peak);
  std::vector<int64_t> tail = c.narrow(0, kElements - 4, 4).to(kInt64).to_vector<int64_t>();
  EXPECT_EQ(tail, (std::vector<int64_t>{1, 1, 1, 5}));
  EXPECT_EQ(t.sum().item<int64_t>(), 0);
}

// float32: 8 GiB a tensor, so byte offsets pass 2^32 as well.
TEST(CUDALargeTensor, Float32FillSumCopyArgmax) {
  KILN_SKIP_WITHOUT_GPU();
  SKIP_WITHOUT_FREE_GPU_MEMORY(2 * kElements * 4);
  Tensor t = empty({kElements}, on_gpu(kFloat32));
  t.fill_(0.5);
  // The float32 result keeps 24 bits: allow its rounding, and that of the partial sums.
  const double expected = 0.5 * static_cast<double>(kElements);
  EXPECT_NEAR(t.sum().item<double>(), expected, expected * 1e-6);

  const int64_t peak = kElements - 3;
  t.narrow(0, peak, 1).fill_(2.0);
  EXPECT_EQ(argmax(t).item<int64_t>(), peak);

  Tensor c = empty({kElements}, on_gpu(kFloat32));
  c.copy_(t);
  t.fill_(0.0);
  EXPECT_EQ(argmax(c).item<int64_t>(), peak);
  std::vector<float> tail = c.narrow(0, kElements - 4, 4).to_vector<float>();
  EXPECT_EQ(tail, (std::vector<float>{0.5f, 2.0f, 0.5f, 0.5f}));
  EXPECT_NEAR(c.sum().item<double>(), expected + 1.5, expected * 1e-6);
}
}  // namespace
