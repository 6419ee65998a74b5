// Tensor factories: empty, zeros, ones, full, arange, linspace, eye, random tensors, and tensors from host data.
#pragma once
#include <vector>

#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

Tensor empty(const Shape& size, const TensorOptions& opts = {});
/// Laid out in `format` (MemoryFormat::ChannelsLast for a 4-D NHWC tensor), as torch.empty(..., memory_format=).
Tensor empty(const Shape& size, const TensorOptions& opts, MemoryFormat format);
Tensor zeros(const Shape& size, const TensorOptions& opts = {});
Tensor ones(const Shape& size, const TensorOptions& opts = {});
Tensor full(const Shape& size, const Scalar& value, const TensorOptions& opts = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, const Scalar& value);
/// [start, end) in steps; dtype int64 when all arguments are integers unless opts says otherwise.
Tensor arange(const Scalar& end, const TensorOptions& opts = {});
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1, const TensorOptions& opts = {});
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, DType dtype, Device device);
Tensor linspace(double start, double end, int64_t steps, const TensorOptions& opts = {});
Tensor eye(int64_t n, int64_t m = -1, const TensorOptions& opts = {});

/// Uniform on [0, 1). The same Generator state gives the same numbers on CPU and CUDA.
Tensor rand(const Shape& size, const TensorOptions& opts = {}, Generator* gen = nullptr);
/// Standard normal.
Tensor randn(const Shape& size, const TensorOptions& opts = {}, Generator* gen = nullptr);
/// Integers uniform on [low, high); int64 unless opts says otherwise.
Tensor randint(int64_t low, int64_t high, const Shape& size, const TensorOptions& opts = {}, Generator* gen = nullptr);
/// Integers uniform on [0, high), libtorch's randint(high, size).
inline Tensor randint(int64_t high, const Shape& size, const TensorOptions& opts = {}, Generator* gen = nullptr) {
  return randint(0, high, size, opts, gen);
}
Tensor randperm(int64_t n, const TensorOptions& opts = {}, Generator* gen = nullptr);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);
/// In place: uniform on [lo, hi) and normal(mean, std). Used by nn::init.
const Tensor& uniform_(const Tensor& t, double lo, double hi, Generator* gen = nullptr);
const Tensor& normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);
/// Each element 1 with probability p (dropout masks), in t's dtype.
Tensor bernoulli(const Shape& size, double p, const TensorOptions& opts = {}, Generator* gen = nullptr);

/// Copies host values into a new tensor of the given shape (numel must match) on opts' device.
template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, const TensorOptions& opts);
template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape) { return tensor(values, shape, TensorOptions(dtype_of<T>)); }
template <typename T>
Tensor tensor(const std::vector<T>& values) { return tensor(values, Shape{static_cast<int64_t>(values.size())}); }
namespace detail {
/// A number or a nested braced list of numbers, for tensor({{1, 2}, {3, 4}}). Each value remembers its kind:
/// integers give int64, floating values float32 and bools bool, as torch.tensor (a list mixing kinds takes
/// the widest). Nested lists must be rectangular (ShapeError otherwise).
class NestedValues {
 public:
  NestedValues(bool v) : kind_(Kind::Bool), value_(v ? 1.0 : 0.0), ivalue_(v) {}
  NestedValues(int v) : kind_(Kind::Int), value_(v), ivalue_(v) {}
  NestedValues(long v) : kind_(Kind::Int), value_(static_cast<double>(v)), ivalue_(v) {}
  NestedValues(long long v) : kind_(Kind::Int), value_(static_cast<double>(v)), ivalue_(v) {}
  NestedValues(float v) : kind_(Kind::Float), value_(v), ivalue_(0) {}
  NestedValues(double v) : kind_(Kind::Float), value_(v), ivalue_(0) {}
  NestedValues(std::initializer_list<NestedValues> list) : kind_(Kind::List), children_(list) {}
  /// The shape, the dtype torch.tensor would pick and the values in row-major order (as int64 or double).
  Shape shape() const;
  DType default_dtype() const;
  void flatten_into(std::vector<double>& values, std::vector<int64_t>& ints) const;

 private:
  enum class Kind : int8_t { Bool, Int, Float, List };
  Kind kind_;
  double value_ = 0;
  long long ivalue_ = 0;
  std::vector<NestedValues> children_;
};
}  // namespace detail
/// torch::tensor({1, 2, 3}) (int64), tensor({1.5, 2.0}) (float32), tensor({true, false}) (bool),
/// tensor({{1, 2}, {3, 4}}) (2-d), tensor(3.5) (0-dim); opts' dtype, when given, wins.
Tensor tensor(const detail::NestedValues& values, const TensorOptions& opts = {});
/// A 0-dim tensor holding one value (scalar_tensor in torch).
Tensor scalar_tensor(const Scalar& v, const TensorOptions& opts = {});
/// Wraps host memory without copying; the caller keeps it alive (or passes a deleter).
Tensor from_blob(void* data, const Shape& shape, const TensorOptions& opts = {},
                 void (*deleter)(void* data, void* ctx) = nullptr, void* ctx = nullptr);
}  // namespace kiln
