// Tensor's method spellings (t.add(u), t.sum(), ...) of the free op functions.
#include "kiln/autograd/autograd.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops.h"

namespace kiln {
namespace {
// o * alpha as one Scalar (an integer when both are), for x.add(o, alpha).
Scalar scaled(const Scalar& o, const Scalar& alpha) {
  if (o.is_integral() && alpha.is_integral()) return Scalar(o.to_long() * alpha.to_long());
  return Scalar(o.to_double() * alpha.to_double());
}
}  // namespace

Tensor Tensor::to(Device d, bool non_blocking, bool copy) const { return kiln::to(*this, d, dtype(), non_blocking, copy); }
Tensor Tensor::to(DType t, bool copy) const { return kiln::to(*this, device(), t, false, copy); }
Tensor Tensor::to(Device d, DType t, bool non_blocking, bool copy) const { return kiln::to(*this, d, t, non_blocking, copy); }
Tensor Tensor::to(const TensorOptions& o, bool non_blocking, bool copy) const {
  return kiln::to(*this, o.device(), o.dtype(), non_blocking, copy);
}
Tensor Tensor::cpu() const { return to(Device(kCPU)); }
Tensor Tensor::cuda(int index) const { return to(Device(kCUDA, index)); }
Tensor Tensor::pin_memory() const {
  KILN_CHECK_DEVICE(is_cpu(), "pin_memory: only CPU tensors can be pinned, this one is on ", device());
  if (is_pinned()) return *this;
  Tensor out = make_tensor(sizes(), dtype(), Device(kCPU), /*pinned=*/true);
  NoGradGuard g;
  kiln::copy_(out, *this);
  return out;
}
Tensor Tensor::contiguous() const { return kiln::contiguous(*this); }
Tensor Tensor::contiguous(MemoryFormat f) const { return kiln::contiguous(*this, f); }
Tensor Tensor::clone() const { return kiln::clone(*this); }
const Tensor& Tensor::copy_(const Tensor& src, bool non_blocking) const { return kiln::copy_(*this, src, non_blocking); }

Tensor Tensor::view(const Shape& s) const { return kiln::view(*this, s); }
Tensor Tensor::reshape(const Shape& s) const { return kiln::reshape(*this, s); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return kiln::flatten(*this, s, e); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return kiln::transpose(*this, a, b); }
Tensor Tensor::t() const {
  KILN_CHECK_SHAPE(dim() <= 2, "t() expects a tensor with <= 2 dims, got ", shape_str());
  return dim() < 2 ? *this : kiln::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& d) const { return kiln::permute(*this, d); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const { return kiln::narrow(*this, d, s, l); }
Tensor Tensor::slice(int64_t d, int64_t s, int64_t e, int64_t st) const { return kiln::slice(*this, d, s, e, st); }
Tensor Tensor::select(int64_t d, int64_t i) const { return kiln::select(*this, d, i); }
Tensor Tensor::expand(const Shape& s) const { return kiln::expand(*this, s); }
Tensor Tensor::squeeze() const { return kiln::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return kiln::squeeze(*this, d); }
Tensor Tensor::unsqueeze(int64_t d) const { return kiln::unsqueeze(*this, d); }

Tensor Tensor::add(const Tensor& o, const Scalar& a) const { return kiln::add(*this, o, a); }
Tensor Tensor::sub(const Tensor& o, const Scalar& a) const { return kiln::sub(*this, o, a); }
Tensor Tensor::mul(const Tensor& o) const { return kiln::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return kiln::div(*this, o); }
Tensor Tensor::pow(const Scalar& e) const { return kiln::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return kiln::pow(*this, e); }
const Tensor& Tensor::add_(const Tensor& o, const Scalar& a) const { return kiln::add_(*this, o, a); }
const Tensor& Tensor::add_(const Scalar& o) const { return kiln::add_(*this, o); }
const Tensor& Tensor::sub_(const Tensor& o, const Scalar& a) const { return kiln::sub_(*this, o, a); }
const Tensor& Tensor::sub_(const Scalar& o) const { return kiln::sub_(*this, o); }
const Tensor& Tensor::mul_(const Tensor& o) const { return kiln::mul_(*this, o); }
const Tensor& Tensor::mul_(const Scalar& o) const { return kiln::mul_(*this, o); }
const Tensor& Tensor::div_(const Tensor& o) const { return kiln::div_(*this, o); }
const Tensor& Tensor::div_(const Scalar& o) const { return kiln::div_(*this, o); }
const Tensor& Tensor::fill_(const Scalar& v) const { return kiln::fill_(*this, v); }
const Tensor& Tensor::zero_() const { return kiln::zero_(*this); }
const Tensor& Tensor::clamp_(const Scalar& lo, const Scalar& hi) const { return kiln::clamp_(*this, lo, hi); }
const Tensor& Tensor::masked_fill_(const Tensor& m, const Scalar& v) const { return kiln::masked_fill_(*this, m, v); }
const Tensor& Tensor::div_(const Tensor& o, std::optional<std::string_view> m) const { return kiln::div_(*this, o, m); }
const Tensor& Tensor::div_(const Scalar& o, std::optional<std::string_view> m) const { return kiln::div_(*this, o, m); }
Tensor Tensor::div(const Tensor& o, std::optional<std::string_view> m) const { return kiln::div(*this, o, m); }
Tensor Tensor::div(const Scalar& o, std::optional<std::string_view> m) const { return kiln::div(*this, o, m); }
Tensor Tensor::floor_divide(const Tensor& o) const { return kiln::floor_divide(*this, o); }
Tensor Tensor::floor_divide(const Scalar& o) const { return kiln::floor_divide(*this, o); }
Tensor Tensor::fmod(const Tensor& o) const { return kiln::fmod(*this, o); }
Tensor Tensor::fmod(const Scalar& o) const { return kiln::fmod(*this, o); }
Tensor Tensor::remainder(const Tensor& o) const { return kiln::remainder(*this, o); }
Tensor Tensor::remainder(const Scalar& o) const { return kiln::remainder(*this, o); }
Tensor Tensor::where(const Tensor& condition, const Tensor& other) const { return kiln::where(condition, *this, other); }
Tensor Tensor::square() const { return kiln::square(*this); }
Tensor Tensor::sign() const { return kiln::sign(*this); }
Tensor Tensor::floor() const { return kiln::floor(*this); }
Tensor Tensor::ceil() const { return kiln::ceil(*this); }
Tensor Tensor::round() const { return kiln::round(*this); }
Tensor Tensor::isnan() const { return kiln::isnan(*this); }
Tensor Tensor::isinf() const { return kiln::isinf(*this); }
Tensor Tensor::isfinite() const { return kiln::isfinite(*this); }
Tensor Tensor::logical_not() const { return kiln::logical_not(*this); }
Tensor Tensor::logical_and(const Tensor& o) const { return kiln::logical_and(*this, o); }
Tensor Tensor::logical_or(const Tensor& o) const { return kiln::logical_or(*this, o); }
bool Tensor::allclose(const Tensor& o, double rtol, double atol, bool equal_nan) const {
  return kiln::allclose(*this, o, rtol, atol, equal_nan);
}
bool Tensor::equal(const Tensor& o) const { return kiln::equal(*this, o); }
const Tensor& Tensor::uniform_(double from, double to) const { return kiln::uniform_(*this, from, to); }
const Tensor& Tensor::normal_(double mean, double std) const { return kiln::normal_(*this, mean, std); }
Tensor Tensor::neg() const { return kiln::neg(*this); }
Tensor Tensor::abs() const { return kiln::abs(*this); }
Tensor Tensor::relu() const { return kiln::relu(*this); }
Tensor Tensor::clamp(const Scalar& lo, const Scalar& hi) const { return kiln::clamp(*this, lo, hi); }
Tensor Tensor::masked_fill(const Tensor& m, const Scalar& v) const { return kiln::masked_fill(*this, m, v); }

Tensor Tensor::sum() const { return kiln::sum(*this); }
Tensor Tensor::sum(const Shape& d, bool k) const { return kiln::sum(*this, d, k); }
Tensor Tensor::mean() const { return kiln::mean(*this); }
Tensor Tensor::mean(const Shape& d, bool k) const { return kiln::mean(*this, d, k); }
Tensor Tensor::max() const { return kiln::max(*this); }
Tensor Tensor::min() const { return kiln::min(*this); }
Tensor Tensor::argmax(int64_t d, bool k) const { return kiln::argmax(*this, d, k); }
Tensor Tensor::argmin(int64_t d, bool k) const { return kiln::argmin(*this, d, k); }
Tensor Tensor::argmax() const { return kiln::argmax(*this); }
Tensor Tensor::argmin() const { return kiln::argmin(*this); }
Tensor Tensor::all() const { return kiln::all(*this); }
Tensor Tensor::any() const { return kiln::any(*this); }
Tensor Tensor::all(int64_t d, bool k) const { return kiln::all(*this, d, k); }
Tensor Tensor::any(int64_t d, bool k) const { return kiln::any(*this, d, k); }
Tensor Tensor::softmax(int64_t d) const { return kiln::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return kiln::log_softmax(*this, d); }

Tensor Tensor::add(const Scalar& o, const Scalar& alpha) const { return kiln::add(*this, scaled(o, alpha)); }
Tensor Tensor::sub(const Scalar& o, const Scalar& alpha) const { return kiln::sub(*this, scaled(o, alpha)); }
Tensor Tensor::mul(const Scalar& o) const { return kiln::mul(*this, o); }
Tensor Tensor::div(const Scalar& o) const { return kiln::div(*this, o); }
#define KILN_COMPARE_METHODS(name)                                                      \
  Tensor Tensor::name(const Tensor& o) const { return kiln::name(*this, o); }           \
  Tensor Tensor::name(const Scalar& o) const { return kiln::name(*this, o); }
KILN_COMPARE_METHODS(eq)
KILN_COMPARE_METHODS(ne)
KILN_COMPARE_METHODS(lt)
KILN_COMPARE_METHODS(le)
KILN_COMPARE_METHODS(gt)
KILN_COMPARE_METHODS(ge)
#undef KILN_COMPARE_METHODS
Tensor Tensor::clamp_min(const Scalar& lo) const { return kiln::clamp_min(*this, lo); }
Tensor Tensor::clamp_max(const Scalar& hi) const { return kiln::clamp_max(*this, hi); }

std::tuple<Tensor, Tensor> Tensor::max(int64_t d, bool k) const { return kiln::max(*this, d, k); }
std::tuple<Tensor, Tensor> Tensor::min(int64_t d, bool k) const { return kiln::min(*this, d, k); }
Tensor Tensor::amax(const Shape& d, bool k) const { return kiln::amax(*this, d, k); }
Tensor Tensor::amin(const Shape& d, bool k) const { return kiln::amin(*this, d, k); }
Tensor Tensor::var(bool unbiased) const { return kiln::var(*this, {}, unbiased ? 1 : 0); }
Tensor Tensor::var(const Shape& d, bool unbiased, bool k) const { return kiln::var(*this, d, unbiased ? 1 : 0, k); }
Tensor Tensor::std(bool unbiased) const { return kiln::std(*this, {}, unbiased ? 1 : 0); }
Tensor Tensor::std(const Shape& d, bool unbiased, bool k) const { return kiln::std(*this, d, unbiased ? 1 : 0, k); }
Tensor Tensor::norm(double p) const { return kiln::norm(*this, p); }
Tensor Tensor::norm(double p, const Shape& d, bool k) const { return kiln::norm(*this, p, d, k); }
Tensor Tensor::prod() const { return kiln::prod(*this); }
Tensor Tensor::prod(int64_t d, bool k) const { return kiln::prod(*this, d, k); }
Tensor Tensor::logsumexp(const Shape& d, bool k) const { return kiln::logsumexp(*this, d, k); }
std::tuple<Tensor, Tensor> Tensor::topk(int64_t k, int64_t d, bool largest, bool sorted) const {
  return kiln::topk(*this, k, d, largest, sorted);
}
std::tuple<Tensor, Tensor> Tensor::sort(int64_t d, bool descending) const { return kiln::sort(*this, d, descending); }

Tensor Tensor::matmul(const Tensor& o) const { return kiln::matmul(*this, o); }
Tensor Tensor::bmm(const Tensor& o) const { return kiln::bmm(*this, o); }
std::vector<Tensor> Tensor::split(int64_t size, int64_t d) const { return kiln::split(*this, size, d); }
std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t d) const { return kiln::chunk(*this, chunks, d); }
Tensor Tensor::mm(const Tensor& o) const { return kiln::mm(*this, o); }
Tensor Tensor::index_select(int64_t d, const Tensor& i) const { return kiln::index_select(*this, d, i); }
Tensor Tensor::gather(int64_t d, const Tensor& i) const { return kiln::gather(*this, d, i); }
Tensor Tensor::scatter(int64_t d, const Tensor& i, const Tensor& src) const { return kiln::scatter(*this, d, i, src); }
Tensor Tensor::scatter(int64_t d, const Tensor& i, const Scalar& v) const { return kiln::scatter(*this, d, i, v); }
const Tensor& Tensor::scatter_(int64_t d, const Tensor& i, const Tensor& src) const {
  return kiln::scatter_(*this, d, i, src);
}
const Tensor& Tensor::scatter_add_(int64_t d, const Tensor& i, const Tensor& src) const {
  return kiln::scatter_add_(*this, d, i, src);
}
Tensor Tensor::masked_select(const Tensor& mask) const { return kiln::masked_select(*this, mask); }
Tensor Tensor::nonzero() const { return kiln::nonzero(*this); }
Tensor Tensor::repeat(const Shape& repeats) const { return kiln::repeat(*this, repeats); }
Tensor Tensor::flip(const Shape& dims) const { return kiln::flip(*this, dims); }
Tensor Tensor::cumsum(int64_t d) const { return kiln::cumsum(*this, d); }
Tensor Tensor::cumprod(int64_t d) const { return kiln::cumprod(*this, d); }
}  // namespace kiln
