// Tensor metadata, construction of storages and views, and typed host access.
#include "kiln/tensor/tensor.h"

#include <sstream>

#include "core/backend.h"
#include "kiln/autograd/node.h"
#include "kiln/cuda/cuda.h"
#include "kiln/tensor/ops/copy.h"

namespace kiln {
namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw ValueError("operation on an undefined tensor (default-constructed Tensor has no data)");
  return *impl;
}
}  // namespace

const Shape& Tensor::sizes() const { return checked(impl_).sizes; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::size(int64_t d) const { return sizes()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
// A plain product: every way a tensor is made (make_tensor, from_blob, view, reshape, expand) already refused
// sizes whose count overflows, so numel(), called by every op, does not check again.
int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t s : sizes()) n *= s;
  return n;
}
int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device(); }
const Storage& Tensor::storage() const { return checked(impl_).storage; }
bool Tensor::is_pinned() const { return storage()->is_pinned(); }
TensorOptions Tensor::options() const { return TensorOptions().dtype(dtype()).device(device()); }
uint32_t Tensor::_version() const { return storage()->version(); }

bool Tensor::is_contiguous() const {
  const auto& s = sizes();
  const auto& st = strides();
  int64_t expected = 1;
  for (int64_t i = static_cast<int64_t>(s.size()) - 1; i >= 0; --i) {
    if (s[i] == 1) continue;
    if (st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  const auto& t = checked(impl_);
  return static_cast<char*>(t.storage->data()) + t.offset * static_cast<int64_t>(kiln::element_size(t.dtype));
}

template <typename T>
T* Tensor::data_ptr() const {
  KILN_CHECK_DTYPE(dtype() == dtype_of<T>, "data_ptr<", dtype_name(dtype_of<T>), ">() called on a tensor of dtype ",
                   dtype_name(dtype()));
  return static_cast<T*>(data_ptr());
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = kiln::to(*this, Device(kCPU), dtype_of<T>, false, false).contiguous();
  const T* p = host.data_ptr<T>();
  return std::vector<T>(p, p + host.numel());
}

template <typename T>
T Tensor::item() const {
  KILN_CHECK_SHAPE(numel() == 1, "item() needs a tensor with one element, got shape ", shape_to_string(sizes()));
  return to_vector<T>()[0];
}

Scalar Tensor::item() const {
  if (is_floating_point()) return Scalar(item<double>());
  if (dtype() == kBool) return Scalar(item<bool>());
  return Scalar(item<int64_t>());
}

#define KILN_INSTANTIATE_ACCESS(T)                    \
  template T* Tensor::data_ptr<T>() const;            \
  template std::vector<T> Tensor::to_vector<T>() const; \
  template T Tensor::item<T>() const;
KILN_INSTANTIATE_ACCESS(bool)
KILN_INSTANTIATE_ACCESS(uint8_t)
KILN_INSTANTIATE_ACCESS(int32_t)
KILN_INSTANTIATE_ACCESS(int64_t)
KILN_INSTANTIATE_ACCESS(Half)
KILN_INSTANTIATE_ACCESS(BFloat16)
KILN_INSTANTIATE_ACCESS(float)
KILN_INSTANTIATE_ACCESS(double)
#undef KILN_INSTANTIATE_ACCESS

std::string shape_to_string(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}
std::string Tensor::shape_str() const { return shape_to_string(sizes()); }

Shape contiguous_strides(const Shape& sizes) {
  Shape st(sizes.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(sizes[i], 1);
  }
  return st;
}

int64_t shape_numel(const Shape& sizes) {
  int64_t n = 1;
  bool overflow = false;
  for (auto s : sizes) {
    KILN_CHECK_SHAPE(s >= 0, "negative dimension ", s, " in shape ", shape_to_string(sizes));
    overflow |= __builtin_mul_overflow(n, s, &n);
  }
  // An empty dim makes the count 0 whatever overflowed before it.
  for (auto s : sizes)
    if (s == 0) return 0;
  KILN_CHECK_SHAPE(!overflow, "shape ", shape_to_string(sizes), " has more elements than a 64-bit count can hold");
  return n;
}

size_t shape_nbytes(const Shape& sizes, DType dtype) {
  const int64_t n = shape_numel(sizes);
  int64_t bytes = 0;
  KILN_CHECK_SHAPE(!__builtin_mul_overflow(n, static_cast<int64_t>(element_size(dtype)), &bytes),
                   "a ", dtype_name(dtype), " tensor of shape ", shape_to_string(sizes),
                   " would need 2^63 bytes or more; no machine can hold it");
  return static_cast<size_t>(bytes);
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-dim tensor accepts dim 0 and -1, as in torch
  if (dim < -n || dim >= n)
    throw IndexError(detail::str(op, ": dimension ", dim, " out of range for a tensor with ", ndim,
                                 " dimension(s) (expected ", -n, " to ", n - 1, ")"));
  return dim < 0 ? dim + n : dim;
}

Tensor make_tensor(const Shape& sizes, DType dtype, Device device, bool pinned) {
  const size_t nbytes = shape_nbytes(sizes, dtype);  // refuses negative dims and sizes that overflow
  auto impl = std::make_shared<TensorImpl>();
  Allocator* alloc;
  if (device.is_cpu()) {
    alloc = pinned ? &pinned_allocator() : &cpu_allocator();
  } else {
    device = resolve_device(device);
    alloc = &backend(DeviceType::CUDA).allocator();
  }
  impl->storage = std::make_shared<StorageImpl>(nbytes, device, alloc, pinned && device.is_cpu());
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_tensor(const Shape& sizes, DType dtype, Device device, MemoryFormat format) {
  Tensor t = make_tensor(sizes, dtype, device);
  if (format != MemoryFormat::Contiguous) t.impl()->strides = strides_for(sizes, format);  // the same bytes
  return t;
}

Tensor make_view(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage();
  impl->sizes = sizes;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}
}  // namespace kiln
