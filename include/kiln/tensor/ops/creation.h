// Tensor factories: empty, zeros, ones, full, arange, linspace, eye, random tensors, and tensors from host data.
#pragma once
#include <vector>

#include "kiln/core/generator.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

Tensor empty(const Shape& size, const TensorOptions& opts = {});
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
Tensor randperm(int64_t n, const TensorOptions& opts = {}, Generator* gen = nullptr);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);
/// In place: uniform on [lo, hi) and normal(mean, std). Used by nn::init.
Tensor& uniform_(Tensor& t, double lo, double hi, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean, double std, Generator* gen = nullptr);
/// Each element 1 with probability p (dropout masks), in t's dtype.
Tensor bernoulli(const Shape& size, double p, const TensorOptions& opts = {}, Generator* gen = nullptr);

/// Copies host values into a new tensor of the given shape (numel must match) on opts' device.
template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, const TensorOptions& opts);
template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape) { return tensor(values, shape, TensorOptions(dtype_of<T>)); }
template <typename T>
Tensor tensor(const std::vector<T>& values) { return tensor(values, Shape{static_cast<int64_t>(values.size())}); }
inline Tensor tensor(std::initializer_list<float> values) { return tensor(std::vector<float>(values)); }
/// A 0-dim tensor holding one value (scalar_tensor in torch).
Tensor scalar_tensor(const Scalar& v, const TensorOptions& opts = {});
/// Wraps host memory without copying; the caller keeps it alive (or passes a deleter).
Tensor from_blob(void* data, const Shape& shape, const TensorOptions& opts = {},
                 void (*deleter)(void* data, void* ctx) = nullptr, void* ctx = nullptr);
}  // namespace kiln
