// CPU kernels of the copy family.
#include "ops/copy/copy_functors.h"
#include "ops/copy/copy_kernels.h"
#include "ops/elementwise/cpu_loop.h"
#include "ops/simd/vector_kernels.h"

namespace kiln::ops {
namespace {
// float32 <-> bfloat16 on dense data (autocast's casts) through Highway's vectors: bitwise CastFn's result.
bool copy_bf16_vectorised(const ElementwiseIter& it) {
  if (!it.contiguous) return false;
  void* out = it.data[0];
  const void* in = it.data[1];
  if (it.dtypes[0] == DType::BFloat16 && it.dtypes[1] == DType::Float32) {
    cpu::parallel_for(0, it.numel, cpu::kGrainSize, [&](int64_t b, int64_t e) {
      simd::f32_to_bf16(static_cast<const float*>(in) + b, static_cast<uint16_t*>(out) + b, e - b);
    });
    return true;
  }
  if (it.dtypes[0] == DType::Float32 && it.dtypes[1] == DType::BFloat16) {
    cpu::parallel_for(0, it.numel, cpu::kGrainSize, [&](int64_t b, int64_t e) {
      simd::bf16_to_f32(static_cast<const uint16_t*>(in) + b, static_cast<float*>(out) + b, e - b);
    });
    return true;
  }
  return false;
}

void copy_cpu(const ElementwiseIter& it) {
  if (copy_bf16_vectorised(it)) return;
  KILN_DISPATCH_ALL(it.dtypes[0], "copy", [&] {
    using dst_t = scalar_t;
    KILN_DISPATCH_ALL(it.dtypes[1], "copy", [&] {
      if constexpr (std::is_same<dst_t, bool>::value)
        cpu_elementwise<bool, scalar_t>(it, [](opmath_t<scalar_t> v) { return v != opmath_t<scalar_t>(0); });
      else
        cpu_elementwise<dst_t, scalar_t>(it, CastFn{});
    });
  });
}
void fill_cpu(const ElementwiseIter& it, const Scalar& v) {
  KILN_DISPATCH_ALL(it.dtypes[0], "fill", [&] { cpu_elementwise<scalar_t>(it, FillFn<scalar_t>{v.to<scalar_t>()}); });
}
}  // namespace
KILN_REGISTER_KERNEL(copy_stub, kCPU, copy_cpu);
KILN_REGISTER_KERNEL(fill_stub, kCPU, fill_cpu);
}  // namespace kiln::ops
