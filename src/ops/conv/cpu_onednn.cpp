// CPU float32 convolution through oneDNN: one primitive per (direction, geometry), created on first use and
// cached, run on kiln's OpenMP pool (Debian's oneDNN uses the OpenMP runtime) on plain NCHW/OIHW memory.
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
using Key = std::array<int64_t, 21>;
Key key_of(Direction d, const Conv2dGeometry& g, bool bias) {
  return {static_cast<int64_t>(d), g.n, g.c_in, g.h, g.w, g.c_out, g.kh, g.kw, g.oh, g.ow, g.stride_h, g.stride_w,
          g.dil_h, g.dil_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, g.groups, bias ? 1 : 0,
          static_cast<int64_t>(g.dtype)};
}

struct Descs {
  memory::desc src, weights, bias, dst;
  memory::dims strides, dilates, pad_l, pad_r;
};
Descs descs_of(const Conv2dGeometry& g, bool bias) {
  // float32, or bfloat16 under autocast (AMX / AVX-512 BF16 kernels where the CPU has them, f32 accumulation).
  const auto f32 = g.dtype == kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
  Descs d;
  d.src = memory::desc({g.n, g.c_in, g.h, g.w}, f32, tag::nchw);
  d.dst = memory::desc({g.n, g.c_out, g.oh, g.ow}, f32, tag::nchw);
  d.weights = g.groups == 1
                  ? memory::desc({g.c_out, g.c_in, g.kh, g.kw}, f32, tag::oihw)
                  : memory::desc({g.groups, g.c_out / g.groups, g.c_in / g.groups, g.kh, g.kw}, f32, tag::goihw);
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
                                       d.weights, d.bias, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, engine()};
}

// The cache: primitives are immutable and may run concurrently, so a lookup holds the lock only to find or add.
dnnl::primitive cached(const Key& key, const std::function<dnnl::primitive()>& make) {
  static std::mutex mu;
  static std::map<Key, dnnl::primitive> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  dnnl::primitive p = make();
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(key, p).first->second;
}

memory wrap(const memory::desc& md, const Tensor& t) { return memory(md, engine(), t.data_ptr()); }

void run(dnnl::primitive& p, std::unordered_map<int, memory> args) {
  dnnl::stream s(engine());
  p.execute(s, args);
  s.wait();
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
    dnnl::primitive p = cached(key_of(Direction::Forward, g, has_bias),
                               [&] { return dnnl::convolution_forward(forward_pd(g, has_bias)); });
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, wrap(d.src, x)}, {DNNL_ARG_WEIGHTS, wrap(d.weights, weight)}, {DNNL_ARG_DST, wrap(d.dst, y)}};
    if (has_bias) args.emplace(DNNL_ARG_BIAS, wrap(d.bias, bias));
    run(p, std::move(args));
  });
}

void onednn_backward_data(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& weight, Tensor& grad_x) {
  guarded("backward-data convolution", [&] {
    Descs d = descs_of(g, false);
    dnnl::primitive p = cached(key_of(Direction::BackwardData, g, false), [&] {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst,
                                                 d.strides, d.dilates, d.pad_l, d.pad_r);
      return dnnl::convolution_backward_data(
          dnnl::convolution_backward_data::primitive_desc(desc, engine(), forward_pd(g, false)));
    });
    run(p, {{DNNL_ARG_DIFF_DST, wrap(d.dst, grad_y)},
            {DNNL_ARG_WEIGHTS, wrap(d.weights, weight)},
            {DNNL_ARG_DIFF_SRC, wrap(d.src, grad_x)}});
  });
}

void onednn_backward_weight(const Conv2dGeometry& g, const Tensor& grad_y, const Tensor& x, Tensor& grad_weight,
                            Tensor& grad_bias) {
  guarded("backward-weights convolution", [&] {
    const bool has_bias = grad_bias.defined();
    Descs d = descs_of(g, has_bias);
    dnnl::primitive p = cached(key_of(Direction::BackwardWeight, g, has_bias), [&] {
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.bias,
                                                    d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
      return dnnl::convolution_backward_weights(
          dnnl::convolution_backward_weights::primitive_desc(desc, engine(), forward_pd(g, has_bias)));
    });
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(d.src, x)},
                                         {DNNL_ARG_DIFF_DST, wrap(d.dst, grad_y)},
                                         {DNNL_ARG_DIFF_WEIGHTS, wrap(d.weights, grad_weight)}};
    if (has_bias) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(d.bias, grad_bias));
    run(p, std::move(args));
  });
}
}  // namespace kiln::ops::cpu_conv
