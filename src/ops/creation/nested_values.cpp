// tensor({{1, 2}, {3, 4}}): braced lists of numbers to tensors, with torch.tensor's shape and dtype rules.
#include <algorithm>

#include "kiln/tensor/ops/creation.h"

namespace kiln {
namespace detail {

Shape NestedValues::shape() const {
  if (kind_ != Kind::List) return {};
  Shape s{static_cast<int64_t>(children_.size())};
  if (children_.empty()) return s;
  Shape inner = children_[0].shape();
  for (size_t i = 1; i < children_.size(); ++i)
    KILN_CHECK_SHAPE(children_[i].shape() == inner, "tensor: nested lists must be rectangular, but element 0 has ",
                     "shape ", shape_to_string(inner), " and element ", i, " has shape ",
                     shape_to_string(children_[i].shape()));
  s.insert(s.end(), inner.begin(), inner.end());
  return s;
}

DType NestedValues::default_dtype() const {
  switch (kind_) {
    case Kind::Bool: return kBool;
    case Kind::Int: return kInt64;
    case Kind::Float: return default_float_dtype();
    case Kind::List: break;
  }
  // The widest kind in the list: bool < integer < floating, as a Python list given to torch.tensor.
  // An empty list is float32, as torch.tensor([]).
  DType t = children_.empty() ? default_float_dtype() : kBool;
  for (const NestedValues& c : children_) {
    DType ct = c.default_dtype();
    if (is_floating_point(ct))
      t = ct;
    else if (ct == kInt64 && !is_floating_point(t))
      t = kInt64;
  }
  return t;
}

void NestedValues::flatten_into(std::vector<double>& values, std::vector<int64_t>& ints) const {
  if (kind_ != Kind::List) {
    values.push_back(value_);
    ints.push_back(static_cast<int64_t>(ivalue_));
    return;
  }
  for (const NestedValues& c : children_) c.flatten_into(values, ints);
}
}  // namespace detail

Tensor tensor(const detail::NestedValues& values, const TensorOptions& opts) {
  Shape shape = values.shape();
  DType dtype = opts.has_dtype() ? opts.dtype() : values.default_dtype();
  std::vector<double> doubles;
  std::vector<int64_t> ints;
  values.flatten_into(doubles, ints);
  TensorOptions o = opts.dtype(dtype);
  // Integer values go through int64 so that large ones stay exact; floating ones through double.
  if (is_floating_point(values.default_dtype())) return tensor(doubles, shape, o);
  return tensor(ints, shape, o);
}
}  // namespace kiln
