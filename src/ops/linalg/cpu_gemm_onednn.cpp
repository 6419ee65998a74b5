// oneDNN's GEMMs. bfloat16 through its matmul primitive: one primitive per shape, layout and alpha/beta, created on
// first use and cached; each batch runs it on new pointers. oneDNN picks AMX, AVX-512 BF16 or a widening kernel.
// float32 through dnnl_sgemm (JIT kernels it caches itself) where that beats OpenBLAS.
#include "ops/linalg/cpu_gemm_onednn.h"

#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "kiln/core/half.h"

namespace kiln::ops {
namespace {
using dnnl::memory;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

int64_t bits_of(double v) {
  int64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

using Key = std::array<int64_t, 10>;
struct Entry {
  dnnl::matmul primitive;
  memory::desc a, b, c;
};

// Row-major op(X) [rows, cols] stored transposed or not with leading dimension ld, as oneDNN strides.
memory::desc matrix(int64_t rows, int64_t cols, bool trans, int64_t ld) {
  return memory::desc({rows, cols}, memory::data_type::bf16, trans ? memory::dims{1, ld} : memory::dims{ld, 1});
}

// Primitives are immutable and may run concurrently, so a lookup holds the lock only to find or add.
const Entry* entry_for(const GemmParams& p) {
  static std::mutex mu;
  static std::map<Key, Entry> cache;
  static std::map<Key, bool> unsupported;
  const Key key{p.m, p.n, p.k, p.a.trans, p.a.ld, p.b.trans, p.b.ld, p.ldc, bits_of(p.alpha), bits_of(p.beta)};
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return &it->second;
    if (unsupported.count(key)) return nullptr;
  }
  Entry e;
  e.a = matrix(p.m, p.k, p.a.trans, p.a.ld);
  e.b = matrix(p.k, p.n, p.b.trans, p.b.ld);
  e.c = memory::desc({p.m, p.n}, memory::data_type::bf16, memory::dims{p.ldc, 1});
  try {
    dnnl::primitive_attr attr;
    if (p.alpha != 1) attr.set_output_scales(0, {static_cast<float>(p.alpha)});
    if (p.beta != 0) {
      dnnl::post_ops ops;
      ops.append_sum(static_cast<float>(p.beta));
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc(e.a, e.b, e.c);
    e.primitive = dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, engine()));
  } catch (const dnnl::error&) {
    std::lock_guard<std::mutex> lock(mu);
    unsupported[key] = true;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu);
  return &cache.emplace(key, std::move(e)).first->second;
}
}  // namespace

bool prefer_onednn_sgemm(int64_t m, int64_t n, int64_t k) {
  // Measured on 2 threads (AVX2 Zen 3; AVX-512 Xeon): oneDNN wins 10-130% on the training products (32x512x512 in
  // each layout, 1000x512x10, 64x256x784, 128^3) and ties at 2048^3, mostly by skipping OpenBLAS's separate
  // C = beta*C pass and its full packing of the small operand; OpenBLAS's lower call cost wins below about 64^3
  // and when one side of C is a handful of columns (a 10-class head).
  return m * n * k >= 64 * 64 * 64 && std::min(m, n) >= 16;
}

bool onednn_sgemm(const float* a, bool ta, int64_t lda, const float* b, bool tb, int64_t ldb, float* c, int64_t ldc,
                  int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == dnnl_success;
}

bool onednn_bf16_gemm(const GemmParams& p) {
  const Entry* e = entry_for(p);
  if (e == nullptr) return false;
  dnnl::stream s(engine());
  for (int64_t b = 0; b < p.batch; ++b) {
    auto* a = const_cast<BFloat16*>(static_cast<const BFloat16*>(p.a.data) + b * p.a.batch_stride);
    auto* bm = const_cast<BFloat16*>(static_cast<const BFloat16*>(p.b.data) + b * p.b.batch_stride);
    auto* c = static_cast<BFloat16*>(p.c) + b * p.c_batch_stride;
    e->primitive.execute(s, {{DNNL_ARG_SRC, memory(e->a, engine(), a)},
                             {DNNL_ARG_WEIGHTS, memory(e->b, engine(), bm)},
                             {DNNL_ARG_DST, memory(e->c, engine(), c)}});
  }
  s.wait();
  return true;
}
}  // namespace kiln::ops
