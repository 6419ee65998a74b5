// TensorAccessor: libtorch's x.accessor<T, N>(), typed a[i][j] access to a CPU tensor's elements in place.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kiln/core/error.h"
#include "kiln/tensor/tensor.h"

namespace kiln {

/// An N-dim view of T elements: operator[] drops the first dim; at N == 1 it returns the element. Holds pointers
/// into the tensor's sizes and strides, so it must not outlive the tensor (as libtorch's).
template <typename T, size_t N>
class TensorAccessor {
 public:
  TensorAccessor(T* data, const int64_t* sizes, const int64_t* strides) : data_(data), sizes_(sizes), strides_(strides) {}
  TensorAccessor<T, N - 1> operator[](int64_t i) const {
    return TensorAccessor<T, N - 1>(data_ + strides_[0] * i, sizes_ + 1, strides_ + 1);
  }
  int64_t size(int64_t d) const { return sizes_[d]; }
  int64_t stride(int64_t d) const { return strides_[d]; }
  T* data() const { return data_; }

 private:
  T* data_;
  const int64_t* sizes_;
  const int64_t* strides_;
};

template <typename T>
class TensorAccessor<T, 1> {
 public:
  TensorAccessor(T* data, const int64_t* sizes, const int64_t* strides) : data_(data), sizes_(sizes), strides_(strides) {}
  T& operator[](int64_t i) const { return data_[strides_[0] * i]; }
  int64_t size(int64_t d) const { return sizes_[d]; }
  int64_t stride(int64_t d) const { return strides_[d]; }
  T* data() const { return data_; }

 private:
  T* data_;
  const int64_t* sizes_;
  const int64_t* strides_;
};

/// Requires a CPU tensor (DeviceError: copy it with .cpu() first), of dtype T (DTypeError) and N dims (ShapeError).
template <typename T, size_t N>
TensorAccessor<T, N> Tensor::accessor() const {
  static_assert(N > 0, "accessor is for tensors with at least one dim; use item<T>() for a 0-dim tensor");
  KILN_CHECK_DEVICE(is_cpu(), "accessor: the tensor is on ", device(), "; accessors read CPU memory, so call .cpu() first");
  KILN_CHECK_SHAPE(dim() == static_cast<int64_t>(N), "accessor: expected a tensor with ", N, " dims, got shape ",
                   shape_str());
  return TensorAccessor<T, N>(data_ptr<T>(), sizes().data(), strides().data());
}
}  // namespace kiln
