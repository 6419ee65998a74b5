// Tensor factories: filled, ranged, identity and random tensors, and tensors from host data.
#include "kiln/tensor/ops/creation.h"

#include <cmath>
#include <numeric>

#include "kiln/autograd/autograd.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/pointwise.h"
#include "ops/copy/copy_kernels.h"
#include "kiln/cuda/cuda.h"
#include "ops/op_stream.h"
#include "ops/random/random_kernels.h"
#include "tensor/layout.h"

namespace kiln {
namespace ops {
KILN_DEFINE_DISPATCH(random_stub);
}

namespace {
Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}
Tensor raw_fill(Tensor t, const Scalar& v) {
  if (t.numel() == 0) return t;
  auto it = ops::make_elementwise_iter(t, {}, "fill_");
  ops::fill_stub(t.device().type(), it, v);
  return t;
}
Tensor random_tensor(const Shape& size, const TensorOptions& opts, Generator* gen, ops::RandomKind kind, double a,
                     double b) {
  // The generator's offset is a kernel argument: a replay would draw the same numbers again (dropout would drop
  // the same units every step), so a capture refuses random draws.
  KILN_CHECK(!(opts.device().is_cuda() && cuda::is_capturing()),
             "random numbers on a GPU (dropout, rand, randn, bernoulli) cannot be captured in a CUDA graph: a replay "
             "would repeat the captured draw. Train without dropout under --cuda-graph, or without the graph");
  Tensor t = make_tensor(size, opts.dtype(), opts.device(), opts.pinned_memory());
  Generator& g = gen ? *gen : default_generator();
  ops::RandomParams p{kind, a, b, g.seed(), g.advance(static_cast<uint64_t>(t.numel()) * 4),
                      ops::op_stream(t.device())};
  ops::random_stub(t.device().type(), t, p);
  return t;
}
}  // namespace

Tensor empty(const Shape& size, const TensorOptions& opts) {
  return finish(make_tensor(size, opts.dtype(), opts.device(), opts.pinned_memory()), opts);
}
Tensor empty(const Shape& size, const TensorOptions& opts, MemoryFormat format) {
  KILN_CHECK(format != MemoryFormat::Preserve, "empty: preserve_format needs a tensor to preserve (use empty_like)");
  KILN_CHECK(!opts.pinned_memory() || format == MemoryFormat::Contiguous,
             "empty: pinned memory is made contiguous; lay it out with contiguous(format) after the copy");
  return finish(make_tensor(size, opts.dtype(), opts.device(), format), opts);
}
Tensor full(const Shape& size, const Scalar& value, const TensorOptions& opts) {
  // As torch.full: without a dtype, the fill value decides (bool, int64 or float32).
  DType dt = opts.has_dtype() ? opts.dtype() : value.dtype();
  return finish(raw_fill(make_tensor(size, dt, opts.device(), opts.pinned_memory()), value), opts);
}
Tensor zeros(const Shape& size, const TensorOptions& opts) { return full(size, 0, opts.dtype(opts.dtype())); }
Tensor ones(const Shape& size, const TensorOptions& opts) { return full(size, 1, opts.dtype(opts.dtype())); }
// The *_like factories keep the input's layout (PyTorch's preserve_format): a transposed input gives a
// transposed result, so elementwise work between the two walks memory in the same order.
static Tensor with_layout_of(const Tensor& like, Tensor fresh) {
  Shape strides = dense_strides_like(like);
  return strides == fresh.strides() ? fresh : make_view(fresh, fresh.sizes(), strides, 0);
}
Tensor empty_like(const Tensor& t) { return with_layout_of(t, empty(t.sizes(), t.options())); }
Tensor zeros_like(const Tensor& t) { return with_layout_of(t, zeros(t.sizes(), t.options())); }
Tensor ones_like(const Tensor& t) { return with_layout_of(t, ones(t.sizes(), t.options())); }
Tensor full_like(const Tensor& t, const Scalar& value) {
  return with_layout_of(t, full(t.sizes(), value, t.options()));
}

Tensor arange(const Scalar& end, const TensorOptions& opts) { return arange(0, end, 1, opts); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, const TensorOptions& opts) {
  double s = start.to_double(), e = end.to_double(), st = step.to_double();
  KILN_CHECK(st != 0, "arange: step must be nonzero");
  KILN_CHECK(std::isfinite(s) && std::isfinite(e), "arange: start and end must be finite");
  KILN_CHECK((e - s) * st >= 0, "arange: upper bound and step sign are inconsistent (start ", s, ", end ", e,
             ", step ", st, ")");
  int64_t n = static_cast<int64_t>(std::ceil((e - s) / st));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = s + st * static_cast<double>(i);
  // As torch.arange: integer arguments and no dtype give int64.
  bool integral = !start.is_floating_point() && !end.is_floating_point() && !step.is_floating_point();
  DType dt = opts.has_dtype() ? opts.dtype() : integral ? kInt64 : kFloat32;
  return finish(tensor(v, {n}, TensorOptions(kFloat64)).to(opts.device(), dt), opts);
}

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, DType dtype, Device device) {
  return arange(start, end, step, TensorOptions().dtype(dtype).device(device));
}

Tensor linspace(double start, double end, int64_t steps, const TensorOptions& opts) {
  KILN_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  std::vector<double> v(static_cast<size_t>(steps));
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends (as torch does) so the last value is exactly `end`; one step is `start`, as torch.
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < steps / 2 || steps == 1 ? start + step * static_cast<double>(i)
                                       : end - step * static_cast<double>(steps - 1 - i);
  return finish(tensor(v, {steps}, TensorOptions(kFloat64)).to(opts.device(), opts.dtype()), opts);
}

Tensor eye(int64_t n, int64_t m, const TensorOptions& opts) {
  if (m < 0) m = n;
  KILN_CHECK(n >= 0, "eye: n must be non-negative, got ", n);
  Tensor t = make_tensor({n, m}, opts.dtype(), opts.device());
  raw_fill(t, 0);
  int64_t k = std::min(n, m);
  if (k > 0) raw_fill(make_view(t, {k}, {m + 1}, 0), 1);
  return finish(t, opts);
}

Tensor rand(const Shape& size, const TensorOptions& opts, Generator* gen) {
  KILN_CHECK_DTYPE(is_floating_point(opts.dtype()), "rand: expected a floating dtype, got ", opts.dtype());
  return finish(random_tensor(size, opts, gen, ops::RandomKind::Uniform, 0.0, 1.0), opts);
}
Tensor randn(const Shape& size, const TensorOptions& opts, Generator* gen) {
  KILN_CHECK_DTYPE(is_floating_point(opts.dtype()), "randn: expected a floating dtype, got ", opts.dtype());
  return finish(random_tensor(size, opts, gen, ops::RandomKind::Normal, 0.0, 1.0), opts);
}
Tensor randint(int64_t low, int64_t high, const Shape& size, const TensorOptions& opts, Generator* gen) {
  KILN_CHECK(low < high, "randint: expected low < high, got low=", low, " high=", high);
  TensorOptions o = opts;
  if (!o.has_dtype()) o = o.dtype(kInt64);  // torch's default for randint
  return random_tensor(size, o, gen, ops::RandomKind::Int, static_cast<double>(low), static_cast<double>(high));
}
Tensor bernoulli(const Shape& size, double p, const TensorOptions& opts, Generator* gen) {
  KILN_CHECK(p >= 0 && p <= 1, "bernoulli: probability must be in [0, 1], got ", p);
  return random_tensor(size, opts, gen, ops::RandomKind::Bernoulli, p, 0.0);
}
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.sizes(), t.options(), gen); }
Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.sizes(), t.options(), gen); }

Tensor randperm(int64_t n, const TensorOptions& opts, Generator* gen) {
  KILN_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  // Fisher-Yates on the host from one Philox draw; the permutation is then moved to the device.
  Generator& g = gen ? *gen : default_generator();
  uint64_t seed = g.seed(), offset = g.advance(static_cast<uint64_t>(n) * 4);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {
    double u = ops::random_value(ops::RandomKind::Uniform, 0.0, 1.0, seed, offset, i);
    int64_t j = std::min<int64_t>(static_cast<int64_t>(u * static_cast<double>(i + 1)), i);
    std::swap(perm[i], perm[j]);
  }
  DType dt = opts.has_dtype() ? opts.dtype() : kInt64;
  return tensor(perm, {n}).to(opts.device(), dt);
}

const Tensor& uniform_(const Tensor& t, double lo, double hi, Generator* gen) {
  NoGradGuard guard;
  Tensor r = random_tensor(t.sizes(), t.options(), gen, ops::RandomKind::Uniform, lo, hi);
  copy_(t, r);
  return t;
}
const Tensor& normal_(const Tensor& t, double mean, double std, Generator* gen) {
  NoGradGuard guard;
  Tensor r = random_tensor(t.sizes(), t.options(), gen, ops::RandomKind::Normal, mean, std);
  copy_(t, r);
  return t;
}

template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, const TensorOptions& opts) {
  KILN_CHECK_SHAPE(static_cast<int64_t>(values.size()) == shape_numel(shape), "tensor: ", values.size(),
                   " values do not fill shape ", shape_to_string(shape));
  Tensor host = make_tensor(shape, dtype_of<T>, Device(kCPU));
  if (!values.empty()) {
    if constexpr (std::is_same<T, bool>::value) {
      bool* p = host.data_ptr<bool>();
      for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
    } else {
      std::copy(values.begin(), values.end(), host.data_ptr<T>());
    }
  }
  return finish(host.to(opts.device(), opts.dtype()), opts);
}
#define KILN_INSTANTIATE_TENSOR(T) template Tensor tensor<T>(const std::vector<T>&, const Shape&, const TensorOptions&);
KILN_INSTANTIATE_TENSOR(bool)
KILN_INSTANTIATE_TENSOR(uint8_t)
KILN_INSTANTIATE_TENSOR(int32_t)
KILN_INSTANTIATE_TENSOR(int64_t)
KILN_INSTANTIATE_TENSOR(Half)
KILN_INSTANTIATE_TENSOR(BFloat16)
KILN_INSTANTIATE_TENSOR(float)
KILN_INSTANTIATE_TENSOR(double)
#undef KILN_INSTANTIATE_TENSOR

Tensor scalar_tensor(const Scalar& v, const TensorOptions& opts) {
  return finish(raw_fill(make_tensor({}, opts.dtype(), opts.device()), v), opts);
}

Tensor from_blob(void* data, const Shape& shape, const TensorOptions& opts, void (*deleter)(void*, void*), void* ctx) {
  const size_t nbytes = shape_nbytes(shape, opts.dtype());  // refuses negative dims and overflowing sizes
  KILN_CHECK(data != nullptr || nbytes == 0, "from_blob: null data pointer");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<StorageImpl>(data, nbytes, opts.device(), deleter, ctx);
  impl->sizes = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = opts.dtype();
  return finish(Tensor(std::move(impl)), opts);
}
}  // namespace kiln
