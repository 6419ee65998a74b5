// CPU float32 convolution through oneDNN: one primitive per (direction, geometry), created on first use and
// cached, run on kiln's OpenMP pool (Debian's oneDNN uses the OpenMP runtime). NCHW tensors run on plain
// NCHW/OIHW memory (oneDNN's im2col + GEMM kernels); channels-last tensors on NHWC memory with the weights in the
// blocked layout oneDNN picks ("any"), reordered from and to kiln's OHWI weights on each call, which is what gets
// oneDNN's direct JIT kernels (about 1.5-2x faster on the CNN's shapes; plain OHWI weights would get its
// reference loops instead).
#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "kiln/core/error.h"
#include "ops/conv/conv_kernels.h"

namespace kiln::ops::cpu_conv {
namespace {
using dnnl::memory;
using tag = memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

enum class Direction { Forward, BackwardData, BackwardWeight };

// Everything a primitive depends on, as a key: the direction, the geometry and whether a bias takes part.
using Key = std::array<int64_t, 22>;
Key key_of(Direction d, const Conv2dGeometry& g, bool bias) {
  return {static_cast<int64_t>(d), g.n, g.c_in, g.h, g.w, g.c_out, g.kh, g.kw, g.oh, g.ow, g.stride_h, g.stride_w,
          g.dil_h, g.dil_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, g.groups, bias ? 1 : 0,
          static_cast<int64_t>(g.dtype), g.channels_last ? 1 : 0};
}

// `weights` is kiln's layout (OIHW or OHWI); `weights_any` what the primitive is asked for: the same, or "any" for
// channels-last (the primitive's choice is then read back from its primitive_desc).
struct Descs {
  memory::desc src, weights, weights_any, bias, dst;
  memory::dims strides, dilates, pad_l, pad_r;
};
Descs descs_of(const Conv2dGeometry& g, bool bias) {
  // float32, or bfloat16 under autocast (AMX / AVX-512 BF16 kernels where the CPU has them, f32 accumulation).
  const auto f32 = g.dtype == kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
  Descs d;
  const bool cl = g.channels_last;
  d.src = memory::desc({g.n, g.c_in, g.h, g.w}, f32, cl ? tag::nhwc : tag::nchw);
  d.dst = memory::desc({g.n, g.c_out, g.oh, g.ow}, f32, cl ? tag::nhwc : tag::nchw);
  d.weights = g.groups == 1 ? memory::desc({g.c_out, g.c_in, g.kh, g.kw}, f32, cl ? tag::ohwi : tag::oihw)
                            : memory::desc({g.groups, g.c_out / g.groups, g.c_in / g.groups, g.kh, g.kw}, f32,
                                           cl ? tag::gohwi : tag::goihw);
  d.weights_any = cl ? memory::desc(d.weights.dims(), f32, tag::any) : d.weights;
  if (bias) d.bias = memory::desc({g.c_out}, f32, tag::x);
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dil_h - 1, g.dil_w - 1};  // oneDNN counts the gaps: 0 is an ordinary convolution
  d.pad_l = {g.pad_top, g.pad_left};
  d.pad_r = {g.pad_bottom, g.pad_right};
  return d;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Conv2dGeometry& g, bool bias) {
  Descs d = descs_of(g, bias);
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                       d.weights_any, d.bias, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, engine()};
}

// A primitive and the weights layout it was made for (kiln's own, or oneDNN's blocked choice).
struct Prepared {
  dnnl::primitive primitive;
  memory::desc weights;
};

// The cache: primitives are immutable and may run concurrently, so a lookup holds the lock only to find or add.
Prepared cached(const Key& key, const std::function<Prepared()>& make) {
  static std::mutex mu;
  static std::map<Key, Prepared> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  Prepared p = make();
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(key, p).first->second;
}

memory wrap(const memory::desc& md, const Tensor& t) { return memory(md, engine(), t.data_ptr()); }

void run(const dnnl::primitive& p, std::unordered_map<int, memory> args) {
  dnnl::stream s(engine());
  p.execute(s, args);
  s.wait();
}

// Copies between two layouts of the same weights (oneDNN caches the reorder primitive itself).
void reorder(const memory& from, const memory& to) { run(dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}); }

// The weights as the primitive wants them: the tensor itself, or a reordered scratch copy.
memory weights_for(const Prepared& p, const memory::desc& own, const Tensor& w) {
  memory mine = wrap(own, w);
  if (p.weights == own) return mine;
  memory theirs(p.weights, engine());
  reorder(mine, theirs);
  return theirs;
}

// oneDNN reports unsupported geometries with dnnl::error; kiln's front end has already checked the shapes, so
// what remains is a library limit, said as such.
template <typename F>
void guarded(const char* what, const F& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    throw NotImplemented(std::string("conv2d: oneDNN cannot run this ") + what + ": " + e.what());
  }
}
}  // namespace

void onednn_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y) {
  guarded("forward convolution", [&] {
    const bool has_bias = bias.defined();
    Descs d = descs_of(g, has_bias);
    Prepared p = cached(key_of(Direction::Forward, g, has_bias), [&] {
      auto pd = forward_pd(g, has_bias);
      return Prepared{dnnl::convolution_forward(pd), pd.weights_desc()};
    });
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(d.src, x)},
                                         {DNNL_ARG_WEIGHTS, weights_for(p, d.weights, weight)},
                                         {DNNL_ARG_DST, wrap(d.dst, y)}};
    if (has_bias) args.emplace(DNNL_ARG_BIAS, wrap(d.bias, bias));
    run(p.primitive, std::move(args));
  });
}

void onednn_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x) {
  guarded("backward-data convolution", [&] {
    Descs d = descs_of(g, false);
    Prepared p = cached(key_of(Direction::BackwardData, g, false), [&] {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any, d.dst,
                                                 d.strides, d.dilates, d.pad_l, d.pad_r);
      dnnl::convolution_backward_data::primitive_desc pd(desc, engine(), forward_pd(g, false));
      return Prepared{dnnl::convolution_backward_data(pd), pd.weights_desc()};
    });
    run(p.primitive, {{DNNL_ARG_DIFF_DST, wrap(d.dst, grad_y)},
                      {DNNL_ARG_WEIGHTS, weights_for(p, d.weights, weight)},
                      {DNNL_ARG_DIFF_SRC, wrap(d.src, grad_x)}});
  });
}

void onednn_backward_weight(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                            Tensor& grad_bias) {
  guarded("backward-weights convolution", [&] {
    const bool has_bias = grad_bias.defined();
    Descs d = descs_of(g, has_bias);
    Prepared p = cached(key_of(Direction::BackwardWeight, g, has_bias), [&] {
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any, d.bias,
                                                    d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
      dnnl::convolution_backward_weights::primitive_desc pd(desc, engine(), forward_pd(g, has_bias));
      return Prepared{dnnl::convolution_backward_weights(pd), pd.diff_weights_desc()};
    });
    memory mine = wrap(d.weights, grad_weight);
    memory theirs = p.weights == d.weights ? mine : memory(p.weights, engine());
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, wrap(d.src, x)}, {DNNL_ARG_DIFF_DST, wrap(d.dst, grad_y)}, {DNNL_ARG_DIFF_WEIGHTS, theirs}};
    if (has_bias) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(d.bias, grad_bias));
    run(p.primitive, std::move(args));
    if (p.weights != d.weights) reorder(theirs, mine);
  });
}
}  // namespace kiln::ops::cpu_conv
