// x.index({...}) and x.index_put_({...}, v), libtorch's spelling of Python's x[...]: None, Ellipsis, integers,
// bools and slices become views (select, slice, unsqueeze); integer and bool tensors are advanced indices,
// gathered with one index_select over the indexed dims flattened (written back with scatter_).
#include <functional>
#include <numeric>

#include "kiln/tensor/indexing.h"
#include "kiln/tensor/ops/copy.h"
#include "kiln/tensor/ops/creation.h"
#include "kiln/tensor/ops/index.h"
#include "kiln/tensor/ops/pointwise.h"
#include "kiln/tensor/ops/view.h"

namespace kiln {
using indexing::TensorIndex;
using Kind = indexing::TensorIndex::Kind;

namespace {
// What the basic indices leave: a view of self, and the advanced (integer tensor) indices by dim of that view.
struct Indexed {
  Tensor view;
  std::vector<int64_t> dims;     // increasing
  std::vector<Tensor> indices;   // int64, one per entry of dims
};

int64_t dims_consumed(const TensorIndex& i) {
  switch (i.kind()) {
    case Kind::Integer:
    case Kind::Slice: return 1;
    case Kind::Tensor: return i.tensor().dtype() == kBool ? i.tensor().dim() : 1;
    default: return 0;
  }
}

Tensor checked_index_tensor(const char* op, const Tensor& t, const Tensor& self) {
  KILN_CHECK(t.defined(), op, ": an index tensor is undefined");
  KILN_CHECK_DTYPE(t.dtype() == kInt64 || t.dtype() == kInt32 || t.dtype() == kBool, op,
                   ": tensors used as indices must be int64, int32 or bool, got ", t.dtype());
  KILN_CHECK_DEVICE(t.device() == self.device() || t.is_cpu(), op, ": an index tensor on ", t.device(),
                    " cannot index a tensor on ", self.device());
  return t.to(self.device());
}

Indexed apply_basic(const char* op, const Tensor& self, const std::vector<TensorIndex>& indices) {
  KILN_CHECK(self.defined(), op, ": undefined tensor");
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& i : indices) {
    KILN_CHECK(i.kind() != Kind::None || i.text().empty(), op, ": the only string index is \"...\", got \"",
               i.text(), "\"");
    consumed += dims_consumed(i);
    ellipses += i.kind() == Kind::Ellipsis;
  }
  KILN_CHECK(ellipses <= 1, op, ": an index can only have a single ellipsis (\"...\")");
  KILN_CHECK_T(IndexError, consumed <= self.dim(), op, ": too many indices for a tensor of dimension ", self.dim(),
               " (", consumed, " dims indexed)");
  Indexed r{self, {}, {}};
  int64_t d = 0;
  for (const TensorIndex& i : indices) {
    switch (i.kind()) {
      case Kind::None:
        r.view = unsqueeze(r.view, d++);
        break;
      case Kind::Boolean:  // x[True] adds a dim of size 1, x[False] one of size 0
        r.view = unsqueeze(r.view, d);
        if (!i.boolean()) r.view = slice(r.view, d, 0, 0);
        ++d;
        break;
      case Kind::Ellipsis:
        d += self.dim() - consumed;
        break;
      case Kind::Integer: {
        int64_t n = r.view.size(d), k = i.integer();
        KILN_CHECK_T(IndexError, k >= -n && k < n, op, ": index ", k, " is out of bounds for dim ", d,
                     " with size ", n);
        r.view = select(r.view, d, k);
        break;
      }
      case Kind::Slice: {
        const indexing::Slice& s = i.slice();
        int64_t step = s.step().value_or(1);
        KILN_CHECK(step > 0, op, ": slice step must be positive, got ", step, " (flip() reverses a dim)");
        int64_t n = r.view.size(d);
        r.view = slice(r.view, d, s.start().value_or(0), s.stop().value_or(n), step);
        ++d;
        break;
      }
      case Kind::Tensor: {
        Tensor t = checked_index_tensor(op, i.tensor(), self);
        if (t.dtype() != kBool) {
          r.dims.push_back(d++);
          r.indices.push_back(t.to(kInt64));
          break;
        }
        // A bool mask over k dims is the k coordinate columns of its true elements.
        for (int64_t j = 0; j < t.dim(); ++j)
          KILN_CHECK_T(IndexError, t.size(j) == r.view.size(d + j), op, ": the mask of shape ", t.shape_str(),
                       " does not match the indexed dims of size ", r.view.size(d + j), " at dim ", d + j);
        Tensor coords = nonzero(t);
        for (int64_t j = 0; j < t.dim(); ++j) {
          r.dims.push_back(d++);
          r.indices.push_back(coords.select(1, j));
        }
        break;
      }
    }
  }
  return r;
}

// The advanced part, prepared: the view with the indexed dims first and flattened into one ([N, rest...]),
// the flat positions to take (1-D), the broadcast index shape, and where its dims go in the result.
struct Advanced {
  Shape permutation;   // of the view: indexed dims first, the others in order
  Shape rest;          // sizes of the other dims
  Tensor linear;       // 1-D int64 positions into the flattened indexed dims
  Shape index_shape;   // the broadcast shape of the index tensors
  int64_t position;    // where the index dims sit in the result
};

Advanced plan_advanced(const Indexed& r) {
  Advanced a;
  const Tensor& v = r.view;
  std::vector<bool> indexed(static_cast<size_t>(v.dim()), false);
  for (int64_t d : r.dims) {
    a.permutation.push_back(d);
    indexed[static_cast<size_t>(d)] = true;
  }
  for (int64_t d = 0; d < v.dim(); ++d)
    if (!indexed[static_cast<size_t>(d)]) {
      a.permutation.push_back(d);
      a.rest.push_back(v.size(d));
    }
  // Adjacent indexed dims keep their place in the result; separated ones go first (numpy's rule).
  bool adjacent = r.dims.back() - r.dims.front() + 1 == static_cast<int64_t>(r.dims.size());
  a.position = adjacent ? r.dims.front() : 0;
  Shape shape;
  for (const Tensor& t : r.indices) shape = broadcast_shapes(shape, t.sizes());
  a.index_shape = shape;
  Tensor linear;
  for (size_t j = 0; j < r.dims.size(); ++j) {
    int64_t n = v.size(r.dims[j]);
    Tensor t = r.indices[j];
    t = where(lt(t, 0), add(t, n), t);  // negative indices count from the end
    linear = linear.defined() ? add(mul(linear, n), t) : t;
  }
  a.linear = reshape(linear.expand(shape), {-1});
  return a;
}

// The view with its indexed dims flattened into dim 0: [N, rest...].
Tensor flatten_indexed(const Tensor& view, const Advanced& a) {
  Shape flat{-1};
  flat.insert(flat.end(), a.rest.begin(), a.rest.end());
  return reshape(permute(view, a.permutation), flat);
}

// [index dims..., rest...] -> the result's order, with the index dims at a.position.
Shape result_permutation(const Advanced& a) {
  int64_t nb = static_cast<int64_t>(a.index_shape.size()), nr = static_cast<int64_t>(a.rest.size());
  Shape perm;
  for (int64_t i = 0; i < a.position; ++i) perm.push_back(nb + i);
  for (int64_t i = 0; i < nb; ++i) perm.push_back(i);
  for (int64_t i = a.position; i < nr; ++i) perm.push_back(nb + i);
  return perm;
}

Shape inverse(const Shape& perm) {
  Shape inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return inv;
}

Shape concat(const Shape& a, const Shape& b) {
  Shape s(a);
  s.insert(s.end(), b.begin(), b.end());
  return s;
}
}  // namespace

Tensor index(const Tensor& self, const std::vector<TensorIndex>& indices) {
  Indexed r = apply_basic("index", self, indices);
  if (r.dims.empty()) return r.view;
  Advanced a = plan_advanced(r);
  Tensor taken = index_select(flatten_indexed(r.view, a), 0, a.linear);
  return permute(reshape(taken, concat(a.index_shape, a.rest)), result_permutation(a));
}

const Tensor& index_put_(const Tensor& self, const std::vector<TensorIndex>& indices, const Tensor& value) {
  KILN_CHECK(value.defined(), "index_put_: undefined value");
  Indexed r = apply_basic("index_put_", self, indices);
  if (r.dims.empty()) {
    copy_(r.view, value);  // a view of self: the write lands in self
    return self;
  }
  Advanced a = plan_advanced(r);
  // The value broadcasts to what index() would return; bring it to [positions, rest] and scatter it into a
  // flattened copy of the indexed view, then copy that back into the view (duplicates: one of them wins).
  Shape result_shape;
  Shape perm = result_permutation(a);
  Shape gathered = concat(a.index_shape, a.rest);
  for (int64_t p : perm) result_shape.push_back(gathered[static_cast<size_t>(p)]);
  int64_t rest = std::accumulate(a.rest.begin(), a.rest.end(), int64_t(1), std::multiplies<int64_t>());
  int64_t n = a.linear.numel();
  Tensor v = reshape(permute(value.to(self.dtype()).expand(result_shape), inverse(perm)), {n, rest});
  Tensor permuted = permute(r.view, a.permutation);
  Tensor flat = reshape(clone(permuted), {-1, rest});
  scatter_(flat, 0, a.linear.view({n, 1}).expand({n, rest}), v);
  copy_(permuted, flat.view(permuted.sizes()));
  return self;
}

const Tensor& index_put_(const Tensor& self, const std::vector<TensorIndex>& indices, const Scalar& value) {
  KILN_CHECK(self.defined(), "index_put_: undefined tensor");
  return index_put_(self, indices, scalar_tensor(value, TensorOptions(self.dtype()).device(self.device())));
}

Tensor Tensor::index(std::initializer_list<TensorIndex> indices) const {
  return kiln::index(*this, std::vector<TensorIndex>(indices));
}
Tensor Tensor::index(const std::vector<TensorIndex>& indices) const { return kiln::index(*this, indices); }
const Tensor& Tensor::index_put_(std::initializer_list<TensorIndex> indices, const Tensor& value) const {
  return kiln::index_put_(*this, std::vector<TensorIndex>(indices), value);
}
const Tensor& Tensor::index_put_(std::initializer_list<TensorIndex> indices, const Scalar& value) const {
  return kiln::index_put_(*this, std::vector<TensorIndex>(indices), value);
}
const Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& value) const {
  return kiln::index_put_(*this, indices, value);
}
const Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Scalar& value) const {
  return kiln::index_put_(*this, indices, value);
}
}  // namespace kiln
