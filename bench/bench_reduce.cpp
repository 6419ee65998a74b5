// Reductions: float32 sum of 16M contiguous elements (CPU and CUDA), a column sum, and softmax rows,
// reported in bytes read per second (compare with the memory bandwidth floor).
#include <benchmark/benchmark.h>

#include "kiln/kiln.h"

namespace {
using namespace kiln;

constexpr int64_t kSumElems = int64_t(16) << 20;

void BM_SumF32Cpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator gen(1);
  Tensor x = randn({n}, TensorOptions(kFloat32), &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(sum(x).data_ptr());
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_SumF32Cpu)->Arg(kSumElems)->Unit(benchmark::kMillisecond)->UseRealTime();

// Sum over the outer dim of a [rows, 1024] matrix (bias gradients): the column loop.
void BM_SumDim0F32Cpu(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = 1024;
  Generator gen(1);
  Tensor x = randn({rows, cols}, TensorOptions(kFloat32), &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(sum(x, {0}).data_ptr());
  state.SetBytesProcessed(state.iterations() * rows * cols * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_SumDim0F32Cpu)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();

// Softmax over rows of 1024 (reads x, writes y).
void BM_SoftmaxF32Cpu(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = 1024;
  Generator gen(1);
  Tensor x = randn({rows, cols}, TensorOptions(kFloat32), &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, 1).data_ptr());
  state.SetBytesProcessed(state.iterations() * 2 * rows * cols * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_SoftmaxF32Cpu)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SumF32Cuda(benchmark::State& state) {
  if (!cuda::is_available()) {
    state.SkipWithError("no GPU");
    return;
  }
  const int64_t n = state.range(0);
  Generator gen(1);
  Tensor x = randn({n}, TensorOptions(kFloat32).device(Device("cuda")), &gen);
  NoGradGuard no_grad;
  sum(x);  // warm-up: allocator and kernel load
  cuda::synchronize();
  for (auto _ : state) {
    Tensor s = sum(x);
    cuda::synchronize();
  }
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_SumF32Cuda)->Arg(kSumElems)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_SoftmaxF32Cuda(benchmark::State& state) {
  if (!cuda::is_available()) {
    state.SkipWithError("no GPU");
    return;
  }
  const int64_t rows = state.range(0), cols = 1024;
  Generator gen(1);
  Tensor x = randn({rows, cols}, TensorOptions(kFloat32).device(Device("cuda")), &gen);
  NoGradGuard no_grad;
  softmax(x, 1);
  cuda::synchronize();
  for (auto _ : state) {
    Tensor y = softmax(x, 1);
    cuda::synchronize();
  }
  state.SetBytesProcessed(state.iterations() * 2 * rows * cols * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_SoftmaxF32Cuda)->Arg(16384)->Unit(benchmark::kMicrosecond)->UseRealTime();
}  // namespace
