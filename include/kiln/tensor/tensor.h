// Tensor: a strided view of a Storage with a dtype, plus the autograd state that tracks how it was made.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/scalar.h"
#include "kiln/tensor/memory_format.h"
#include "kiln/tensor/ops/op_table.h"
#include "kiln/tensor/options.h"
#include "kiln/tensor/storage.h"

namespace kiln {

using Shape = std::vector<int64_t>;
class Tensor;
namespace autograd {
struct AutogradMeta;
struct Node;
}  // namespace autograd
namespace cuda {
class Stream;  // kiln/cuda/cuda.h
}  // namespace cuda
namespace indexing {
class TensorIndex;  // kiln/tensor/indexing.h
}  // namespace indexing
template <typename T, size_t N>
class TensorAccessor;  // kiln/tensor/accessor.h

/// The shared state behind a Tensor handle. Sizes and strides are in elements; offset is in elements.
struct TensorImpl {
  Storage storage;
  int64_t offset = 0;
  Shape sizes;
  Shape strides;
  DType dtype = DType::Float32;
  std::shared_ptr<autograd::AutogradMeta> autograd;  // null until a tensor takes part in autograd
};

/// A handle to a tensor, shared like torch.Tensor: copying a Tensor copies the handle, not the data. In-place
/// methods (x.add_(y), x.zero_()) are const, as libtorch's: they write through the handle into the shared
/// data, so they also work on a temporary or a const handle (x.grad().zero_()).
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // ---- metadata ----
  const Shape& sizes() const;
  const Shape& shape() const { return sizes(); }
  const Shape& strides() const;
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(sizes().size()); }
  int64_t ndimension() const { return dim(); }
  int64_t numel() const;
  int64_t storage_offset() const;
  DType dtype() const;
  DType scalar_type() const { return dtype(); }
  Device device() const;
  TensorOptions options() const;
  size_t element_size() const { return kiln::element_size(dtype()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }
  bool is_cuda() const { return device().is_cuda(); }
  bool is_cpu() const { return device().is_cpu(); }
  bool is_floating_point() const { return kiln::is_floating_point(dtype()); }
  bool is_contiguous() const;
  /// Whether the elements lie densely in format f: is_contiguous(MemoryFormat::ChannelsLast) for NHWC memory.
  bool is_contiguous(MemoryFormat f) const;
  /// ChannelsLast for a 4-D tensor laid out NHWC (made by contiguous(ChannelsLast) or an op on one), else
  /// Contiguous, as PyTorch's suggest_memory_format.
  MemoryFormat suggest_memory_format() const;
  bool is_pinned() const;
  const Storage& storage() const;
  /// Pointer to element 0 (storage data + offset). Typed access checks the dtype.
  void* data_ptr() const;
  template <typename T> T* data_ptr() const;
  /// The value of a one-element tensor, synchronising with the device if needed.
  template <typename T> T item() const;
  Scalar item() const;
  /// Host copy of all elements, converted to T (tests and printing).
  template <typename T> std::vector<T> to_vector() const;
  /// libtorch's x.accessor<float, 2>(): element access a[i][j] on a CPU tensor of dtype T and N dims, without
  /// copies (kiln/tensor/accessor.h). The tensor must outlive the accessor.
  template <typename T, size_t N> TensorAccessor<T, N> accessor() const;

  // ---- devices and dtypes ----
  Tensor to(Device device, bool non_blocking = false, bool copy = false) const;
  Tensor to(DType dtype, bool copy = false) const;
  Tensor to(Device device, DType dtype, bool non_blocking = false, bool copy = false) const;
  Tensor to(const TensorOptions& opts, bool non_blocking = false, bool copy = false) const;
  /// x.to(kCPU), x.to(kCUDA), as libtorch (a device type alone would otherwise be ambiguous).
  Tensor to(DeviceType type, bool non_blocking = false, bool copy = false) const {
    return to(Device(type), non_blocking, copy);
  }
  Tensor cpu() const;
  Tensor cuda(int index = -1) const;
  Tensor pin_memory() const;
  /// Marks this tensor's memory as used by work queued on `stream`, like libtorch's record_stream. Needed when
  /// a CUDA tensor allocated on one stream is read or written by kernels on another: without it, freeing the
  /// tensor lets its allocation stream reuse the memory while the other stream may still use it. Guarantees:
  /// once the storage is freed, the CUDA caching allocator hands the memory out again only after the work
  /// queued on `stream` before the free has completed; the host never waits for it. Ordering of the data
  /// itself is still the caller's job (an Event). Requires a defined tensor (ValueError otherwise) and, for a
  /// CUDA tensor, a stream of the tensor's GPU (DeviceError otherwise). A no-op for CPU tensors, for memory
  /// kiln does not own (from_blob), and for the stream the memory was allocated on.
  void record_stream(cuda::Stream stream) const;
  Tensor contiguous() const;
  /// This tensor laid out in format f (itself when it already is): x.contiguous(MemoryFormat::ChannelsLast), as
  /// libtorch and Python's x.to(memory_format=torch.channels_last). Differentiable; the gradient comes back in
  /// the input's format.
  Tensor contiguous(MemoryFormat f) const;
  /// A copy in the same format (a channels-last tensor stays channels-last; anything else becomes contiguous).
  Tensor clone() const;
  const Tensor& copy_(const Tensor& src, bool non_blocking = false) const;

  // ---- views (share storage) ----
  Tensor view(const Shape& shape) const;
  Tensor reshape(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;
  Tensor permute(const Shape& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(const Shape& shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor view_as(const Tensor& other) const { return view(other.sizes()); }

  // ---- autograd ----
  bool requires_grad() const;
  /// Marks a leaf as needing gradients. Throws on non-leaf tensors and on non-floating dtypes.
  const Tensor& requires_grad_(bool requires = true) const;
  Tensor& set_requires_grad(bool requires) {
    requires_grad_(requires);
    return *this;
  }
  /// The accumulated gradient (undefined until backward reaches this leaf).
  const Tensor& grad() const;
  Tensor& mutable_grad();
  void set_grad(const Tensor& g);
  bool is_leaf() const;
  std::shared_ptr<autograd::Node> grad_fn() const;
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  Tensor detach() const;
  /// libtorch's x.data(): the same data without autograd history (detach()).
  Tensor data() const { return detach(); }
  const Tensor& detach_() const;
  /// Keeps .grad on a non-leaf after backward, like torch's retain_grad().
  void retain_grad() const;
  /// Registers fn to run on this tensor's gradient when it is computed; fn may return a replacement
  /// (defined) or an undefined Tensor to keep the gradient. Returns a handle for remove_hook.
  int register_hook(std::function<Tensor(const Tensor&)> fn) const;
  void remove_hook(int handle) const;
  uint32_t _version() const;

  // ---- arithmetic (operators are free functions below) ----
  Tensor add(const Tensor& o, const Scalar& alpha = 1) const;
  Tensor sub(const Tensor& o, const Scalar& alpha = 1) const;
  Tensor mul(const Tensor& o) const;
  Tensor div(const Tensor& o) const;
  Tensor pow(const Scalar& e) const;
  Tensor pow(const Tensor& e) const;
  // With a number, as libtorch: x.add(1), x.mul(2.0).
  Tensor add(const Scalar& o, const Scalar& alpha = 1) const;
  Tensor sub(const Scalar& o, const Scalar& alpha = 1) const;
  Tensor mul(const Scalar& o) const;
  Tensor div(const Scalar& o) const;
  // Comparisons, elementwise, to a bool tensor.
  Tensor eq(const Tensor& o) const;
  Tensor eq(const Scalar& o) const;
  Tensor ne(const Tensor& o) const;
  Tensor ne(const Scalar& o) const;
  Tensor lt(const Tensor& o) const;
  Tensor lt(const Scalar& o) const;
  Tensor le(const Tensor& o) const;
  Tensor le(const Scalar& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor gt(const Scalar& o) const;
  Tensor ge(const Tensor& o) const;
  Tensor ge(const Scalar& o) const;
  Tensor clamp_min(const Scalar& lo) const;
  Tensor clamp_max(const Scalar& hi) const;
  /// Division with rounding_mode "trunc" (toward zero) or "floor" (toward -inf), computed in the promoted
  /// dtype (integers stay integers, as torch.div); nullopt is true division. Integer division by zero throws.
  Tensor div(const Tensor& o, std::optional<std::string_view> rounding_mode) const;
  Tensor div(const Scalar& o, std::optional<std::string_view> rounding_mode) const;
  Tensor floor_divide(const Tensor& o) const;
  Tensor floor_divide(const Scalar& o) const;
  Tensor fmod(const Tensor& o) const;
  Tensor fmod(const Scalar& o) const;
  Tensor remainder(const Tensor& o) const;
  Tensor remainder(const Scalar& o) const;
  // In place (const, as libtorch: the write goes to the shared data).
  const Tensor& add_(const Tensor& o, const Scalar& alpha = 1) const;
  const Tensor& add_(const Scalar& o) const;
  const Tensor& sub_(const Tensor& o, const Scalar& alpha = 1) const;
  const Tensor& sub_(const Scalar& o) const;
  const Tensor& mul_(const Tensor& o) const;
  const Tensor& mul_(const Scalar& o) const;
  const Tensor& div_(const Tensor& o) const;
  const Tensor& div_(const Scalar& o) const;
  const Tensor& div_(const Tensor& o, std::optional<std::string_view> rounding_mode) const;
  const Tensor& div_(const Scalar& o, std::optional<std::string_view> rounding_mode) const;
  const Tensor& pow_(const Scalar& e) const;
  const Tensor& pow_(const Tensor& e) const;
  const Tensor& fill_(const Scalar& v) const;
  const Tensor& zero_() const;
  const Tensor& clamp_(const Scalar& lo, const Scalar& hi) const;
  const Tensor& clamp_min_(const Scalar& lo) const;
  const Tensor& clamp_max_(const Scalar& hi) const;
  const Tensor& masked_fill_(const Tensor& mask, const Scalar& v) const;
  const Tensor& neg_() const;
  const Tensor& abs_() const;
  const Tensor& relu_() const;
#define KILN_TABLE_UNARY_INPLACE_METHOD(name, ...) const Tensor& name##_() const;
  KILN_FORALL_UNARY_OPS(KILN_TABLE_UNARY_INPLACE_METHOD)  // t.exp_(), t.sigmoid_(), ... (the unary op table)
#undef KILN_TABLE_UNARY_INPLACE_METHOD
  Tensor neg() const;
  Tensor abs() const;
  Tensor relu() const;
  Tensor clamp(const Scalar& lo, const Scalar& hi) const;
#define KILN_TABLE_BINARY_METHOD(name, E, dtypes, autocast, front) KILN_IF_GENERIC_##front(Tensor name(const Tensor& other) const;)
  KILN_FORALL_BINARY_OPS(KILN_TABLE_BINARY_METHOD)  // t.maximum(u), ... (the generic rows of the op table)
#undef KILN_TABLE_BINARY_METHOD
#define KILN_TABLE_UNARY_METHOD(name, ...) Tensor name() const;
  KILN_FORALL_UNARY_OPS(KILN_TABLE_UNARY_METHOD)  // t.exp(), t.sin(), ... (the unary op table)
#undef KILN_TABLE_UNARY_METHOD
  Tensor masked_fill(const Tensor& mask, const Scalar& v) const;
  Tensor square() const;
  Tensor sign() const;
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;
  Tensor isnan() const;
  Tensor isinf() const;
  Tensor isfinite() const;
  Tensor logical_not() const;
  Tensor logical_and(const Tensor& o) const;
  Tensor logical_or(const Tensor& o) const;
  bool allclose(const Tensor& o, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false) const;
  bool equal(const Tensor& o) const;
  /// This tensor in o's dtype (libtorch's x.type_as(y)).
  Tensor type_as(const Tensor& o) const { return to(o.dtype()); }
  /// In place: uniform on [from, to) and normal(mean, std), from the default generator (w.uniform_(-0.1, 0.1)).
  const Tensor& uniform_(double from = 0, double to = 1) const;
  const Tensor& normal_(double mean = 0, double std = 1) const;
  /// self where condition, else other (libtorch's x.where(cond, other)).
  Tensor where(const Tensor& condition, const Tensor& other) const;

  // ---- reductions ----
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  Tensor sum(int64_t dim, bool keepdim = false) const { return sum(Shape{dim}, keepdim); }  // x.sum(1)
  Tensor mean(int64_t dim, bool keepdim = false) const { return mean(Shape{dim}, keepdim); }
  /// (values, indices) along dim, as libtorch's x.max(dim).
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor amax(const Shape& dims, bool keepdim = false) const;
  Tensor amin(const Shape& dims, bool keepdim = false) const;
  /// Variance and standard deviation, unbiased (correction 1) unless told otherwise, over all or some dims.
  Tensor var(bool unbiased = true) const;
  Tensor var(const Shape& dims, bool unbiased = true, bool keepdim = false) const;
  Tensor std(bool unbiased = true) const;
  Tensor std(const Shape& dims, bool unbiased = true, bool keepdim = false) const;
  Tensor norm(double p = 2.0) const;
  Tensor norm(double p, const Shape& dims, bool keepdim = false) const;
  Tensor prod() const;
  Tensor logsumexp(const Shape& dims, bool keepdim = false) const;
  // One dim as a plain integer, as libtorch's IntArrayRef takes one: x.norm(2, 1), x.logsumexp(1), x.amax(-1).
  Tensor norm(double p, int64_t dim, bool keepdim = false) const { return norm(p, Shape{dim}, keepdim); }
  Tensor logsumexp(int64_t dim, bool keepdim = false) const { return logsumexp(Shape{dim}, keepdim); }
  Tensor amax(int64_t dim, bool keepdim = false) const { return amax(Shape{dim}, keepdim); }
  Tensor amin(int64_t dim, bool keepdim = false) const { return amin(Shape{dim}, keepdim); }
  Tensor prod(int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> topk(int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true) const;
  std::tuple<Tensor, Tensor> sort(int64_t dim = -1, bool descending = false) const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  Tensor argmax() const;
  Tensor argmin() const;
  Tensor all() const;
  Tensor any() const;
  Tensor all(int64_t dim, bool keepdim = false) const;
  Tensor any(int64_t dim, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ---- linear algebra and indexing ----
  Tensor matmul(const Tensor& o) const;
  Tensor mm(const Tensor& o) const;
  Tensor bmm(const Tensor& o) const;
  std::vector<Tensor> split(int64_t split_size, int64_t dim = 0) const;
  std::vector<Tensor> chunk(int64_t chunks, int64_t dim = 0) const;
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Scalar& value) const;
  const Tensor& scatter_(int64_t dim, const Tensor& index, const Tensor& src) const;
  const Tensor& scatter_add_(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor masked_select(const Tensor& mask) const;
  Tensor nonzero() const;
  Tensor repeat(const Shape& repeats) const;
  Tensor flip(const Shape& dims) const;
  Tensor cumsum(int64_t dim) const;
  Tensor cumprod(int64_t dim) const;
  /// libtorch's x.index({Slice(1, None), 0, "...", mask}) (kiln/tensor/indexing.h has the index types).
  Tensor index(std::initializer_list<indexing::TensorIndex> indices) const;
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  /// Writes value into the indexed part of self (x.index_put_({0, Slice()}, v)); value broadcasts.
  const Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& value) const;
  const Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Scalar& value) const;
  const Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value) const;
  const Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Scalar& value) const;

  std::string str() const;
  std::string shape_str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// Prints like torch: tensor([[1.0000, 2.0000]], device='cuda:0', dtype=torch.float64).
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// "[2, 3]".
std::string shape_to_string(const Shape& s);
/// Contiguous (row-major) strides for a shape.
Shape contiguous_strides(const Shape& sizes);
/// Product of the sizes (1 for a 0-dim shape).
/// The element count of a shape; throws ShapeError for a negative dim or a count that overflows int64.
int64_t shape_numel(const Shape& sizes);
/// The bytes a contiguous tensor of `sizes` and `dtype` takes; throws ShapeError when that overflows.
size_t shape_nbytes(const Shape& sizes, DType dtype);
/// Wraps a possibly negative dim into [0, ndim); throws IndexError naming the op and the valid range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op = "op");

/// Makes a tensor with a fresh contiguous storage (no initialisation).
Tensor make_tensor(const Shape& sizes, DType dtype, Device device, bool pinned = false);
/// The same, laid out in `format` (Contiguous or ChannelsLast).
Tensor make_tensor(const Shape& sizes, DType dtype, Device device, MemoryFormat format);
/// Makes a view sharing t's storage with the given geometry (no autograd recording).
Tensor make_view(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t offset);
}  // namespace kiln
