// Elementwise throughput: float32 add of two contiguous 16M-element tensors against a plain copy of the
// same bytes (the bandwidth floor), on CPU and CUDA. Bytes processed count every byte read and written
// (add: 2 reads + 1 write; copy: 1 read + 1 write), so the two rates compare directly.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "kiln/kiln.h"

namespace {
using namespace kiln;

constexpr int64_t kElems = int64_t(16) << 20;
constexpr int64_t kBytes = kElems * static_cast<int64_t>(sizeof(float));

// out = a + b, allocating the output each time, as user code does (and as torch.add is measured).
void BM_AddF32Cpu(benchmark::State& state) {
  Generator gen(1);
  Tensor a = randn({kElems}, TensorOptions(kFloat32), &gen), b = randn({kElems}, TensorOptions(kFloat32), &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b).data_ptr());
  state.SetBytesProcessed(state.iterations() * 3 * kBytes);
}
BENCHMARK(BM_AddF32Cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

// a += b: the same traffic as add without the allocation (and first-touch page faults) of a new output.
void BM_AddInplaceF32Cpu(benchmark::State& state) {
  Generator gen(1);
  Tensor a = randn({kElems}, TensorOptions(kFloat32), &gen), b = randn({kElems}, TensorOptions(kFloat32), &gen);
  NoGradGuard no_grad;
  for (auto _ : state) {
    add_(a, b);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 3 * kBytes);
}
BENCHMARK(BM_AddInplaceF32Cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

// The floor: memcpy of one operand's bytes into an already-touched buffer.
void BM_MemcpyF32Cpu(benchmark::State& state) {
  std::vector<float> src(static_cast<size_t>(kElems), 1.0f), dst(static_cast<size_t>(kElems), 0.0f);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), static_cast<size_t>(kBytes));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 2 * kBytes);
}
BENCHMARK(BM_MemcpyF32Cpu)->Unit(benchmark::kMillisecond)->UseRealTime();

bool skip_without_gpu(benchmark::State& state) {
  if (cuda::is_available()) return false;
  state.SkipWithError(("no GPU: " + cuda::unavailable_reason()).c_str());
  return true;
}

void BM_AddF32Cuda(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Generator gen(1);
  TensorOptions o = TensorOptions(kFloat32).device(Device("cuda"));
  Tensor a = randn({kElems}, o, &gen), b = randn({kElems}, o, &gen);
  NoGradGuard no_grad;
  add(a, b);  // warm-up: caching allocator and kernel load
  cuda::synchronize();
  for (auto _ : state) {
    Tensor c = add(a, b);
    cuda::synchronize();
  }
  state.SetBytesProcessed(state.iterations() * 3 * kBytes);
}
BENCHMARK(BM_AddF32Cuda)->Unit(benchmark::kMillisecond)->UseRealTime();

// The floor on the GPU: a device-to-device copy of the same bytes through kiln's copy_.
void BM_CopyF32Cuda(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  Generator gen(1);
  TensorOptions o = TensorOptions(kFloat32).device(Device("cuda"));
  Tensor src = randn({kElems}, o, &gen), dst = empty({kElems}, o);
  NoGradGuard no_grad;
  dst.copy_(src);
  cuda::synchronize();
  for (auto _ : state) {
    dst.copy_(src);
    cuda::synchronize();
  }
  state.SetBytesProcessed(state.iterations() * 2 * kBytes);
}
BENCHMARK(BM_CopyF32Cuda)->Unit(benchmark::kMillisecond)->UseRealTime();
}  // namespace
