// Tests for deterministic mode: the flag and its error, CPU results that do not depend on the thread count, and
// (with a GPU) scatter_add and gather's backward giving the same bits on every run and the CPU's bits.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gpu_skip.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/deterministic.h"
#include "kiln/core/error.h"
#include "kiln/core/generator.h"
#include "kiln/core/threads.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/reduce.h"

namespace {
using namespace kiln;

struct DeterministicReset {
  ~DeterministicReset() { set_deterministic(false); }
};
struct ThreadsReset {
  int n = get_num_threads();
  ~ThreadsReset() { set_num_threads(n); }
};

/// Bitwise equality of two float32 tensors (EXPECT_EQ on floats would accept -0 == 0 and reject NaN == NaN).
bool same_bits(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.cpu().contiguous().to_vector<float>(), y = b.cpu().contiguous().to_vector<float>();
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

TEST(Deterministic, FlagAndErrorNamingTheOp) {
  DeterministicReset reset;
  EXPECT_FALSE(is_deterministic());
  EXPECT_NO_THROW(detail::check_deterministic("some_op", "float atomics"));
  set_deterministic(true);
  EXPECT_TRUE(is_deterministic());
  try {
    detail::check_deterministic("some_op", "float atomics");
    FAIL() << "expected NotImplemented";
  } catch (const NotImplemented& e) {
    EXPECT_NE(std::string(e.what()).find("some_op"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("set_deterministic"), std::string::npos) << e.what();
  }
}

// On the CPU every op gives the same bits run after run for a fixed thread count: the work split depends only
// on the sizes and the thread count, and there are no atomics.
TEST(Deterministic, CpuRepeatsBitForBitWithAFixedThreadCount) {
  ThreadsReset reset;
  Generator g(11);
  Tensor x = randn({1000, 1000}, {}, &g), w = randn({1000, 300}, {}, &g);
  set_num_threads(2);
  for (int rep = 0; rep < 2; ++rep) {
    EXPECT_TRUE(same_bits(sum(x), sum(x)));
    EXPECT_TRUE(same_bits(sum(x, {0}), sum(x, {0})));
    EXPECT_TRUE(same_bits(matmul(x, w), matmul(x, w)));
    EXPECT_TRUE(same_bits(softmax(x, 1), softmax(x, 1)));
  }
}

// Across thread counts: kiln's float sums are a balanced tree of fixed chunks (issue 9), so reductions, mean,
// softmax and log_softmax give the same bits with 1 and 2 threads. matmul goes to OpenBLAS, whose result changes
// in the last bits with its thread count (measured 2026-12-01 on the 2-core build machine): that one is only
// reported, and the README says so.
TEST(Deterministic, CpuThreadCountDependenceIsKnown) {
  ThreadsReset reset;
  Generator g(11);
  Tensor x = randn({1000, 1000}, {}, &g), w = randn({1000, 300}, {}, &g);
  auto run = [&] {
    return std::vector<Tensor>{sum(x, {1}), softmax(x, 1), log_softmax(x, 0), sum(x), mean(x), sum(x, {0}),
                               matmul(x, w)};  // kiln's own ops first, then OpenBLAS
  };
  set_num_threads(1);
  std::vector<Tensor> one = run();
  set_num_threads(2);
  std::vector<Tensor> two = run();
  const char* names[] = {"sum(dim 1)", "softmax", "log_softmax", "sum", "mean", "sum(dim 0)", "matmul"};
  const size_t independent = 6;  // kiln's own reductions must not depend on the thread count
  for (size_t i = 0; i < one.size(); ++i) {
    const bool same = same_bits(one[i], two[i]);
    if (i < independent)
      EXPECT_TRUE(same) << names[i] << " depends on the thread count";
    else if (!same)
      std::printf("note: %s differs in the last bits between 1 and 2 threads\n", names[i]);
  }
}

TEST(DeterministicCUDA, ScatterAddIsOrderedAndMatchesTheCpu) {
  KILN_SKIP_WITHOUT_GPU();
  DeterministicReset reset;
  Generator g(5);
  // 200,000 source values added into 7 x 64 slots: heavy collisions, so atomics would vary run to run.
  Tensor src = randn({200000, 64}, {}, &g);
  Tensor index = randint(0, 7, {200000, 64}, {}, &g);
  const Device gpu("cuda:0");
  set_deterministic(true);
  Tensor a = scatter_add(zeros({7, 64}, gpu), 0, index.to(gpu), src.to(gpu));
  Tensor b = scatter_add(zeros({7, 64}, gpu), 0, index.to(gpu), src.to(gpu));
  Tensor cpu = scatter_add(zeros({7, 64}), 0, index, src);
  EXPECT_TRUE(same_bits(a, b)) << "two deterministic runs differ";
  EXPECT_TRUE(same_bits(a, cpu)) << "the ordered CUDA path should sum in the CPU's order";
}

TEST(DeterministicCUDA, GatherBackwardIsReproducible) {
  KILN_SKIP_WITHOUT_GPU();
  DeterministicReset reset;
  set_deterministic(true);
  Generator g(6);
  const Device gpu("cuda:0");
  Tensor index = randint(0, 4, {50000, 32}, {}, &g).to(gpu);
  Tensor up = randn({50000, 32}, {}, &g).to(gpu);
  auto grad = [&] {
    Tensor x = zeros({4, 32}, gpu).requires_grad_();
    Tensor y = gather(x, 0, index);
    (y * up).sum().backward();
    return x.grad().clone();
  };
  EXPECT_TRUE(same_bits(grad(), grad()));
}
}  // namespace
