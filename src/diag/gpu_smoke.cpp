// The doctor's per-GPU links: a small allocation, a kernel launch and a cuBLAS product on each visible GPU,
// each checked against the CPU, plus each GPU's free memory. Uses kiln's own tensor ops, so a pass means
// kiln itself works there.
#include <cstdio>
#include <exception>

#include "kiln/cuda/cuda.h"
#include "kiln/diag/doctor.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/linalg.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/tensor.h"

namespace kiln::diag {
namespace {
std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

// Small integers, so the product is exact in float32 on any path (TF32 included) and can be compared exactly.
Tensor small_integer_matrix(int64_t n, int salt) {
  std::vector<float> v(static_cast<size_t>(n * n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>((i * 7 + salt) % 9) - 4);
  return tensor(v, Shape{n, n});
}

const char* const kBrokenGpuFix =
    "The GPU or its driver is in a bad state: look for Xid errors in `sudo dmesg` and in `nvidia-smi -q`, check that "
    "no other process holds all its memory (`kiln smi`); a GPU reset (nvidia-smi -r) or a reboot may be needed.";
}  // namespace

// Runs the three steps on cuda:index and says which one failed, or what the GPU is.
Check check_gpu_works(int index) {
  const Device dev(DeviceType::CUDA, index);
  Check c{"gpu" + std::to_string(index), dev.str() + ": allocation, kernel launch, cuBLAS product", CheckStatus::Ok,
          "", ""};
  std::string step = "allocation";
  try {
    Tensor x = empty({256, 256}, TensorOptions().device(dev));
    step = "kernel launch";
    Tensor y = (full({256, 256}, 2.0, TensorOptions().device(dev)) * 3.0 + 1.0).cpu();
    if (!allclose(y, full({256, 256}, 7.0))) {
      c.status = CheckStatus::Fail;
      c.found = "a kernel on " + dev.str() + " ran but computed 2*3+1 wrongly";
      c.fix = kBrokenGpuFix;
      return c;
    }
    step = "cuBLAS product";
    Tensor a = small_integer_matrix(64, 1), b = small_integer_matrix(64, 5);
    Tensor on_gpu = matmul(a.to(dev), b.to(dev)).cpu();
    if (!allclose(on_gpu, matmul(a, b), 0, 0)) {
      c.status = CheckStatus::Fail;
      c.found = "cuBLAS on " + dev.str() + " returned a wrong 64x64 product (the CPU's differs)";
      c.fix = kBrokenGpuFix;
      return c;
    }
    auto [major, minor] = cuda::compute_capability(index);
    c.found = cuda::device_name(index) + ", compute capability " + std::to_string(major) + "." +
              std::to_string(minor) + ": allocation, kernel launch and cuBLAS product correct";
  } catch (const std::exception& e) {
    c.status = CheckStatus::Fail;
    c.found = "the " + step + " on " + dev.str() + " failed: " + e.what();
    c.fix = kBrokenGpuFix;
  }
  return c;
}

Check check_gpu_memory(int index) {
  Check c{"memory" + std::to_string(index), "cuda:" + std::to_string(index) + " free memory", CheckStatus::Ok, "", ""};
  try {
    auto [free, total] = cuda::mem_get_info(index);
    c.found = gib(free) + " free of " + gib(total);
    if (total > 0 && free < total / 10) {
      c.status = CheckStatus::Warn;
      c.fix = "Less than 10% of the GPU's memory is free: other processes hold it (`kiln smi` lists them).";
    }
  } catch (const std::exception& e) {
    c.status = CheckStatus::Warn;
    c.found = std::string("cannot read: ") + e.what();
  }
  return c;
}
}  // namespace kiln::diag
