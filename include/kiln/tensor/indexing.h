// libtorch's index types for x.index({...}) and x.index_put_({...}, v): Slice, None, Ellipsis, integers, bools
// and tensors (using namespace kiln::indexing;).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "kiln/tensor/tensor.h"

namespace kiln::indexing {

/// A missing slice bound (Slice(1, None)) and, as an index, a new dim of size 1 (numpy's None / newaxis).
constexpr std::nullopt_t None = std::nullopt;

/// "..." as an index: as many full slices as the dims not named by the other indices.
struct EllipsisIndexType {};
constexpr EllipsisIndexType Ellipsis{};

/// start:stop:step, each optional as in Python (Slice() is ":"); negative bounds count from the end.
class Slice {
 public:
  Slice(std::optional<int64_t> start = std::nullopt, std::optional<int64_t> stop = std::nullopt,
        std::optional<int64_t> step = std::nullopt)
      : start_(start), stop_(stop), step_(step) {}
  std::optional<int64_t> start() const { return start_; }
  std::optional<int64_t> stop() const { return stop_; }
  std::optional<int64_t> step() const { return step_; }

 private:
  std::optional<int64_t> start_, stop_, step_;
};

/// One entry of an index list: what each is, as in Python's x[...].
class TensorIndex {
 public:
  enum class Kind : int8_t { None, Ellipsis, Integer, Boolean, Slice, Tensor };
  TensorIndex(std::nullopt_t) : kind_(Kind::None) {}
  TensorIndex(EllipsisIndexType) : kind_(Kind::Ellipsis) {}
  /// "..." (any other string is a ValueError when the index is used).
  TensorIndex(const char* s) : kind_(std::string(s) == "..." ? Kind::Ellipsis : Kind::None), text_(s) {}
  TensorIndex(int v) : kind_(Kind::Integer), integer_(v) {}
  TensorIndex(long v) : kind_(Kind::Integer), integer_(v) {}
  TensorIndex(long long v) : kind_(Kind::Integer), integer_(static_cast<int64_t>(v)) {}
  TensorIndex(bool v) : kind_(Kind::Boolean), boolean_(v) {}
  TensorIndex(Slice s) : kind_(Kind::Slice), slice_(s) {}
  TensorIndex(Tensor t) : kind_(Kind::Tensor), tensor_(std::move(t)) {}

  Kind kind() const { return kind_; }
  int64_t integer() const { return integer_; }
  bool boolean() const { return boolean_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }
  /// The string it was made from, when made from one ("" otherwise).
  const std::string& text() const { return text_; }

 private:
  Kind kind_;
  int64_t integer_ = 0;
  bool boolean_ = false;
  Slice slice_;
  Tensor tensor_;
  std::string text_;
};
}  // namespace kiln::indexing

namespace kiln {
/// x.index({...}) and x.index_put_({...}, v) as free functions.
Tensor index(const Tensor& self, const std::vector<indexing::TensorIndex>& indices);
const Tensor& index_put_(const Tensor& self, const std::vector<indexing::TensorIndex>& indices, const Tensor& value);
const Tensor& index_put_(const Tensor& self, const std::vector<indexing::TensorIndex>& indices, const Scalar& value);
}  // namespace kiln
