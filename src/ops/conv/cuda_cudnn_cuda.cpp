// CUDA convolutions through cuDNN 9's legacy convolution API: descriptors and the algorithm of each direction
// chosen once per geometry, dtype and device (cuDNN's heuristics) and cached; workspace from kiln's caching
// allocator on the op's stream.
//
// Why the legacy API and not the backend (graph) API: kiln needs three plain convolutions per geometry, which the
// legacy API states in a few validated calls, with ranked algorithms (cudnnGet*Algorithm_v7) that report their
// workspace, determinism and math type; the graph API's engine configs and execution plans buy fusion that kiln
// does not use yet. The legacy API is deprecated in cuDNN 9 but complete; a move to the graph API would stay
// inside this file.
#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <memory>
#include <mutex>

#include "backend/cuda/caching_allocator.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cudnn_api.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/deterministic.h"
#include "kiln/core/error.h"
#include "kiln/tensor/ops/copy.h"
#include "ops/conv/conv_kernels.h"

namespace kiln::ops {
namespace {
using cuda::detail::cudnn;
using cuda::detail::CudnnApi;
using cuda::detail::cudnn_handle;

// Workspace above this is not worth its memory: a slower algorithm that needs less is taken instead.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

cudnnDataType_t data_type(DType t) {
  switch (t) {
    case kFloat32: return CUDNN_DATA_FLOAT;
    case kFloat64: return CUDNN_DATA_DOUBLE;
    case kFloat16: return CUDNN_DATA_HALF;
    case kBFloat16: return CUDNN_DATA_BFLOAT16;
    default: throw DTypeError(std::string("conv2d on CUDA: cuDNN has no ") + dtype_name(t) + " convolution");
  }
}

// kiln's cuBLAS policy: float32 in float32 (FMA only, no TF32, as kiln's matmul; PyTorch's cuDNN default would
// allow TF32, which bench/pytorch/fashion_cnn.py turns off unless --tf32), float64 in float64, f16/bf16 on tensor
// cores accumulating in float.
cudnnMathType_t math_type(DType t) {
  if (t == kFloat32) return CUDNN_FMA_MATH;
  if (t == kFloat64) return CUDNN_DEFAULT_MATH;
  return CUDNN_TENSOR_OP_MATH;
}

// One direction's choice: the algorithm (as int, shared by the three enums), its workspace and math type.
struct Choice {
  int algo = 0;
  size_t workspace = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

// The descriptors of one geometry (symmetric padding) and the algorithm of each direction. Created once and
// only read afterwards; each direction has its own convolution descriptor because the chosen math type is a
// property of the descriptor.
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  std::array<cudnnConvolutionDescriptor_t, 3> conv{};
  Choice forward, backward_data, backward_filter;
};

int as_int(int64_t v) {
  KILN_CHECK_SHAPE(v <= INT_MAX, "conv2d on CUDA: size ", v, " is larger than cuDNN's 32-bit limit; split the batch");
  return static_cast<int>(v);
}

void check_elements(const char* what, int64_t numel) {
  KILN_CHECK_SHAPE(numel <= INT_MAX, "conv2d on CUDA: the ", what, " has ", numel,
                   " elements, more than cuDNN's 32-bit indexing allows; split the batch");
}

// Picks the first (fastest by cuDNN's ranking) result that succeeded, fits the workspace limit, uses the wanted
// math (no TF32 sneaking into float32: the descriptor asks for FMA math, so cuDNN ranks FMA results) and, in
// deterministic mode, is deterministic.
template <typename Perf>
Choice pick(const char* direction, const Perf* perf, int count, DType dt) {
  const bool deterministic = is_deterministic();
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxWorkspace) continue;
    // CUDNN_DEFAULT_MATH permits TF32 on Ampere and newer, so float32 takes FMA-only results.
    if (dt == kFloat32 && p.mathType != CUDNN_FMA_MATH) continue;
    if (deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
    return Choice{static_cast<int>(p.algo), p.memory, p.mathType};
  }
  throw NotImplemented(std::string("conv2d on CUDA: cuDNN offers no ") + direction + " algorithm for this " +
                       dtype_name(dt) + " geometry" +
                       (deterministic ? " that is deterministic (kiln::set_deterministic is on)" : ""));
}

Plan* make_plan(const Conv2dGeometry& g, cudnnHandle_t h) {
  const CudnnApi& api = cudnn();
  auto p = std::make_unique<Plan>();
  const cudnnDataType_t dt = data_type(g.dtype);
  const cudnnDataType_t compute = g.dtype == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  // Channels-last data and OHWI weights: cuDNN's NHWC format, which its tensor-core kernels prefer.
  const cudnnTensorFormat_t format = g.channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  KILN_CUDNN_CHECK(api.create_tensor(&p->x));
  KILN_CUDNN_CHECK(api.set_tensor_4d(p->x, format, dt, as_int(g.n), as_int(g.c_in), as_int(g.h), as_int(g.w)));
  KILN_CUDNN_CHECK(api.create_tensor(&p->y));
  KILN_CUDNN_CHECK(api.set_tensor_4d(p->y, format, dt, as_int(g.n), as_int(g.c_out), as_int(g.oh), as_int(g.ow)));
  KILN_CUDNN_CHECK(api.create_tensor(&p->bias));
  KILN_CUDNN_CHECK(api.set_tensor_4d(p->bias, format, dt, 1, as_int(g.c_out), 1, 1));
  KILN_CUDNN_CHECK(api.create_filter(&p->w));
  KILN_CUDNN_CHECK(api.set_filter_4d(p->w, dt, format, as_int(g.c_out), as_int(g.c_in / g.groups),
                                     as_int(g.kh), as_int(g.kw)));
  for (cudnnConvolutionDescriptor_t& c : p->conv) {
    KILN_CUDNN_CHECK(api.create_conv(&c));
    KILN_CUDNN_CHECK(api.set_conv_2d(c, as_int(g.pad_top), as_int(g.pad_left), as_int(g.stride_h), as_int(g.stride_w),
                                     as_int(g.dil_h), as_int(g.dil_w), CUDNN_CROSS_CORRELATION, compute));
    KILN_CUDNN_CHECK(api.set_conv_groups(c, as_int(g.groups)));
    KILN_CUDNN_CHECK(api.set_conv_math(c, math_type(g.dtype)));
  }
  constexpr int kMaxAlgos = 16;  // more than cuDNN 9 has in any direction
  int found = 0;
  {
    cudnnConvolutionFwdAlgoPerf_t perf[kMaxAlgos];
    KILN_CUDNN_CHECK(api.forward_algorithms(h, p->x, p->w, p->conv[0], p->y, kMaxAlgos, &found, perf));
    p->forward = pick("forward", perf, found, g.dtype);
  }
  {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMaxAlgos];
    KILN_CUDNN_CHECK(api.backward_data_algorithms(h, p->w, p->y, p->conv[1], p->x, kMaxAlgos, &found, perf));
    p->backward_data = pick("backward-data", perf, found, g.dtype);
  }
  {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMaxAlgos];
    KILN_CUDNN_CHECK(api.backward_filter_algorithms(h, p->x, p->y, p->conv[2], p->w, kMaxAlgos, &found, perf));
    p->backward_filter = pick("backward-weights", perf, found, g.dtype);
  }
  KILN_CUDNN_CHECK(api.set_conv_math(p->conv[0], p->forward.math));
  KILN_CUDNN_CHECK(api.set_conv_math(p->conv[1], p->backward_data.math));
  KILN_CUDNN_CHECK(api.set_conv_math(p->conv[2], p->backward_filter.math));
  // The heuristics' memory is an estimate; the size calls are what the algorithm will use with this math type.
  KILN_CUDNN_CHECK(api.forward_workspace(h, p->x, p->w, p->conv[0], p->y,
                                         static_cast<cudnnConvolutionFwdAlgo_t>(p->forward.algo), &p->forward.workspace));
  KILN_CUDNN_CHECK(api.backward_data_workspace(h, p->w, p->y, p->conv[1], p->x,
                                               static_cast<cudnnConvolutionBwdDataAlgo_t>(p->backward_data.algo),
                                               &p->backward_data.workspace));
  KILN_CUDNN_CHECK(api.backward_filter_workspace(h, p->x, p->y, p->conv[2], p->w,
                                                 static_cast<cudnnConvolutionBwdFilterAlgo_t>(p->backward_filter.algo),
                                                 &p->backward_filter.workspace));
  return p.release();
}

// The plan of g (symmetric padding) on the current device, made on first use. Plans live as long as the process,
// as cuDNN's descriptors are host structures that are cheap to keep and kiln's geometries are few.
Plan& plan_for(const Conv2dGeometry& g, cudnnHandle_t h) {
  using Key = std::array<int64_t, 17>;
  static std::mutex mu;
  static auto* plans = new std::map<Key, Plan*>();
  const Key key{g.n,     g.c_in,     g.h,     g.w,        g.c_out, g.kh,   g.kw,     g.stride_h,
                g.stride_w, g.dil_h, g.dil_w, g.pad_top, g.pad_left, g.groups, static_cast<int64_t>(g.dtype),
                g.channels_last ? 1 : 0, cuda::current_device()};
  std::lock_guard<std::mutex> lock(mu);
  Plan*& p = (*plans)[key];
  if (!p) p = make_plan(g, h);
  return *p;
}

// Workspace for one call, from the caching allocator on the op's stream and given back right after the call is
// queued: the allocator hands the block out again only in that stream's order.
struct Workspace {
  void* ptr = nullptr;
  Workspace(size_t bytes, const Conv2dGeometry& g)
      : ptr(bytes ? cuda::detail::caching_malloc(bytes, g.stream.device(), cuda::detail::launch_stream(g.stream))
                  : nullptr) {}
  ~Workspace() { cuda::detail::caching_free(ptr); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
};

// Scalars alpha = 1 and beta = 0 (or 1) in the type cuDNN wants: double for double data, float otherwise.
struct Scaling {
  double d;
  float f;
  explicit Scaling(double v) : d(v), f(static_cast<float>(v)) {}
  const void* get(DType t) const { return t == kFloat64 ? static_cast<const void*>(&d) : static_cast<const void*>(&f); }
};
const Scaling kOne(1.0), kZero(0.0);

MemoryFormat format_of(const Conv2dGeometry& g) {
  return g.channels_last ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous;
}

// cuDNN's legacy API pads both sides alike. 'same' padding with an even kernel pads one more at the end, so the
// common part goes to cuDNN and the rest into an explicitly zero-padded copy of the input.
struct SymmetricPadding {
  Conv2dGeometry g;  // the geometry cuDNN sees
  int64_t top = 0, left = 0;  // where the original input sits in the padded one
  bool copied = false;
  explicit SymmetricPadding(const Conv2dGeometry& orig) : g(orig) {
    const int64_t ph = std::min(orig.pad_top, orig.pad_bottom), pw = std::min(orig.pad_left, orig.pad_right);
    top = orig.pad_top - ph, left = orig.pad_left - pw;
    g.h = orig.h + top + orig.pad_bottom - ph;
    g.w = orig.w + left + orig.pad_right - pw;
    g.pad_top = g.pad_bottom = ph;
    g.pad_left = g.pad_right = pw;
    copied = g.h != orig.h || g.w != orig.w;
  }
  // The input as cuDNN sees it: x itself, or a zero-padded copy.
  Tensor input(const Tensor& x) const {
    if (!copied) return x;
    Tensor p = make_tensor({g.n, g.c_in, g.h, g.w}, x.dtype(), x.device(), format_of(g));
    p.zero_();
    p.narrow(2, top, x.size(2)).narrow(3, left, x.size(3)).copy_(x);
    return p;
  }
};

// Runs the tensor ops below (padding copies, zero fills) on the op's stream, without recording gradients.
struct OnOpStream {
  cuda::DeviceGuard device;
  cuda::StreamGuard stream;
  NoGradGuard no_grad;
  explicit OnOpStream(const Conv2dGeometry& g) : device(g.stream.device()), stream(g.stream) {}
};

void forward_cuda(const Conv2dGeometry& orig, const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) {
  OnOpStream on(orig);
  check_elements("input", x.numel());
  check_elements("output", y.numel());
  const SymmetricPadding sym(orig);
  const Conv2dGeometry& g = sym.g;
  Tensor xs = sym.input(x);
  cudnnHandle_t h = cudnn_handle(cuda::detail::launch_stream(g.stream));
  const Plan& p = plan_for(g, h);
  Workspace ws(p.forward.workspace, g);
  KILN_CUDNN_CHECK(cudnn().forward(h, kOne.get(g.dtype), p.x, xs.data_ptr(), p.w, w.data_ptr(), p.conv[0],
                                   static_cast<cudnnConvolutionFwdAlgo_t>(p.forward.algo), ws.ptr,
                                   p.forward.workspace, kZero.get(g.dtype), p.y, y.data_ptr()));
  if (b.defined())
    KILN_CUDNN_CHECK(cudnn().add_tensor(h, kOne.get(g.dtype), p.bias, b.data_ptr(), kOne.get(g.dtype), p.y, y.data_ptr()));
}

// Kept general (any stride, dilation, groups and padding): ConvTranspose2d's forward is this backward-data.
void backward_data_cuda(const Conv2dGeometry& orig, const Tensor& gy, const Tensor& w, Tensor& gx) {
  OnOpStream on(orig);
  if (gy.numel() == 0 || gx.numel() == 0) {
    gx.zero_();
    return;
  }
  check_elements("input gradient", gx.numel());
  check_elements("output gradient", gy.numel());
  const SymmetricPadding sym(orig);
  const Conv2dGeometry& g = sym.g;
  Tensor gxs = sym.copied ? make_tensor({g.n, g.c_in, g.h, g.w}, gx.dtype(), gx.device(), format_of(g)) : gx;
  cudnnHandle_t h = cudnn_handle(cuda::detail::launch_stream(g.stream));
  const Plan& p = plan_for(g, h);
  Workspace ws(p.backward_data.workspace, g);
  KILN_CUDNN_CHECK(cudnn().backward_data(h, kOne.get(g.dtype), p.w, w.data_ptr(), p.y, gy.data_ptr(), p.conv[1],
                                         static_cast<cudnnConvolutionBwdDataAlgo_t>(p.backward_data.algo), ws.ptr,
                                         p.backward_data.workspace, kZero.get(g.dtype), p.x, gxs.data_ptr()));
  if (sym.copied) gx.copy_(gxs.narrow(2, sym.top, orig.h).narrow(3, sym.left, orig.w));
}

void backward_weight_cuda(const Conv2dGeometry& orig, const Tensor& gy, const Tensor& x, Tensor& gw, Tensor& gb) {
  OnOpStream on(orig);
  if (gy.numel() == 0 || x.numel() == 0) {  // no pixels: no gradient
    if (gw.defined()) gw.zero_();
    if (gb.defined()) gb.zero_();
    return;
  }
  check_elements("input", x.numel());
  check_elements("output gradient", gy.numel());
  const SymmetricPadding sym(orig);
  const Conv2dGeometry& g = sym.g;
  Tensor xs = sym.input(x);
  cudnnHandle_t h = cudnn_handle(cuda::detail::launch_stream(g.stream));
  const Plan& p = plan_for(g, h);
  if (gw.defined()) {
    Workspace ws(p.backward_filter.workspace, g);
    KILN_CUDNN_CHECK(cudnn().backward_filter(h, kOne.get(g.dtype), p.x, xs.data_ptr(), p.y, gy.data_ptr(), p.conv[2],
                                             static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.backward_filter.algo),
                                             ws.ptr, p.backward_filter.workspace, kZero.get(g.dtype), p.w,
                                             gw.data_ptr()));
  }
  if (gb.defined())
    KILN_CUDNN_CHECK(
        cudnn().backward_bias(h, kOne.get(g.dtype), p.y, gy.data_ptr(), kZero.get(g.dtype), p.bias, gb.data_ptr()));
}
}  // namespace

KILN_REGISTER_KERNEL(conv2d_forward_stub, kCUDA, forward_cuda);
KILN_REGISTER_KERNEL(conv2d_backward_data_stub, kCUDA, backward_data_cuda);
KILN_REGISTER_KERNEL(conv2d_backward_weight_stub, kCUDA, backward_weight_cuda);
}  // namespace kiln::ops
