// Square GEMM in FLOP/s: float32 kiln::mm against a direct cblas_sgemm (CPU) and a direct cublasSgemm (CUDA), and
// kiln::mm on the GPU in float32, float16 and bfloat16 (the figures gpu-bundle/run.sh sets beside PyTorch's).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "kiln/kiln.h"

#if defined(KILN_WITH_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

namespace {
using namespace kiln;

// 2 n^3 floating-point operations per product, reported as a rate.
void set_flops(benchmark::State& state, int64_t n) {
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(n) * n * n, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_KilnMmCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  Generator gen(1);
  Tensor a = randn({n, n}, TensorOptions(kFloat32), &gen), b = randn({n, n}, TensorOptions(kFloat32), &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(mm(a, b).data_ptr());
  set_flops(state, n);
}

void BM_CblasSgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, n);
}

// The dtypes of the CUDA GEMM case, indexed by its second argument (the label names the dtype).
constexpr DType kGemmDTypes[] = {kFloat32, kFloat16, kBFloat16};

void BM_KilnMmCuda(benchmark::State& state) {
  if (!cuda::is_available()) {
    state.SkipWithError("no GPU");
    return;
  }
  const int64_t n = state.range(0);
  const DType dtype = kGemmDTypes[state.range(1)];
  state.SetLabel(dtype_name(dtype));
  Generator gen(1);
  TensorOptions o = TensorOptions(kFloat32).device(Device("cuda"));
  Tensor a = randn({n, n}, o, &gen).to(dtype), b = randn({n, n}, o, &gen).to(dtype);
  NoGradGuard no_grad;
  mm(a, b);  // warm-up: cuBLAS handle, workspace and caching allocator
  cuda::synchronize();
  for (auto _ : state) {
    Tensor c = mm(a, b);
    cuda::synchronize();
  }
  set_flops(state, n);
}

void BM_CublasSgemm(benchmark::State& state) {
#if defined(KILN_WITH_CUDA)
  if (!cuda::is_available()) {
    state.SkipWithError("no GPU");
    return;
  }
  const int n = static_cast<int>(state.range(0));
  const size_t bytes = static_cast<size_t>(n) * n * sizeof(float);
  float *a = nullptr, *b = nullptr, *c = nullptr;
  cublasHandle_t handle = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess ||
      cudaMalloc(&c, bytes) != cudaSuccess || cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    state.SkipWithError("could not set up cuBLAS");
  } else {
    cudaMemset(a, 0, bytes);
    cudaMemset(b, 0, bytes);
    const float alpha = 1.0f, beta = 0.0f;
    // Default math mode: no TF32, the same precision kiln::mm uses for float32.
    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, b, n, a, n, &beta, c, n);
    cudaDeviceSynchronize();
    for (auto _ : state) {
      cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, b, n, a, n, &beta, c, n);
      cudaDeviceSynchronize();
    }
    set_flops(state, n);
  }
  if (handle) cublasDestroy(handle);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
#else
  state.SkipWithError("no GPU");
#endif
}
}  // namespace

BENCHMARK(BM_KilnMmCpu)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CblasSgemm)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KilnMmCuda)
    ->ArgNames({"n", "dtype"})
    ->ArgsProduct({{1024, 2048, 4096, 8192}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_CublasSgemm)->Arg(1024)->Arg(2048)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
